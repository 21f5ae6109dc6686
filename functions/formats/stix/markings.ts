import { mostRestrictiveTlp, type Tlp } from '../../domain/indicator.ts';

/** TLP 1.0 marking definitions that STIX 2.0 and 2.1 predefine (2.1 section 7.2.1.4). */
const TLP_1: Record<string, Tlp> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'clear',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'green',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'amber',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'red',
};

/** TLP 2.0 marking definitions of the OASIS TLP 2.0 extension. */
const TLP_2: Record<string, Tlp> = {
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': 'clear',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': 'green',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': 'amber',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': 'amber+strict',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': 'red',
};

/** The extension definition that carries `tlp_2_0` on a marking definition. */
export const TLP_2_EXTENSION = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

const LEVELS: Record<string, Tlp> = {
  white: 'clear',
  clear: 'clear',
  green: 'green',
  amber: 'amber',
  'amber+strict': 'amber+strict',
  red: 'red',
};

/** What a marking definition means for the TLP of what it marks. */
export type MarkingMeaning =
  | { kind: 'tlp'; tlp: Tlp }
  /** A statement or another (non-TLP) marking: kept, no TLP. */
  | { kind: 'other' }
  /** It says TLP but no level we know: fail closed. */
  | { kind: 'unknown-tlp'; reason: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function level(text: unknown): Tlp | undefined {
  if (typeof text !== 'string') return undefined;
  const key = text.toLowerCase().replace(/^tlp:/, '');
  return LEVELS[key];
}

/**
 * Read a marking-definition object: a TLP 1.0 `definition.tlp`, a TLP 2.0 extension `tlp_2_0`, a
 * statement, or something else. One that looks like TLP (definition type or name) without a level we
 * know is `unknown-tlp`.
 *
 * @example markingMeaning({ definition_type: 'tlp', definition: { tlp: 'white' } }) // { kind: 'tlp', tlp: 'clear' }
 */
export function markingMeaning(def: Record<string, unknown>): MarkingMeaning {
  const id = typeof def.id === 'string' ? def.id : '';
  const known = TLP_1[id] ?? TLP_2[id];
  if (known) return { kind: 'tlp', tlp: known };
  const extensions = def.extensions;
  if (isRecord(extensions)) {
    const ext = extensions[TLP_2_EXTENSION];
    if (isRecord(ext)) {
      const tlp = level(ext.tlp_2_0);
      return tlp
        ? { kind: 'tlp', tlp }
        : {
            kind: 'unknown-tlp',
            reason: `TLP 2.0 extension with unknown level ${JSON.stringify(ext.tlp_2_0)}`,
          };
    }
  }
  const type = typeof def.definition_type === 'string' ? def.definition_type : '';
  const definition = def.definition;
  if (type.toLowerCase() === 'tlp') {
    const tlp = isRecord(definition) ? level(definition.tlp) : undefined;
    return tlp
      ? { kind: 'tlp', tlp }
      : {
          kind: 'unknown-tlp',
          reason: `TLP marking with unknown level ${JSON.stringify(isRecord(definition) ? definition.tlp : definition)}`,
        };
  }
  const name = typeof def.name === 'string' ? def.name : '';
  if (/\btlp\b/i.test(type) || /^\s*tlp\b/i.test(name)) {
    const tlp = level(name.trim()) ?? level(type.trim());
    return tlp ? { kind: 'tlp', tlp } : { kind: 'unknown-tlp', reason: `TLP-like marking "${name || type}"` };
  }
  return { kind: 'other' };
}

/** Marking definitions known to one document, resolved once. */
export class Markings {
  /** Every marking id this document can use (the predefined TLP ones first) and what it means. */
  private readonly meanings = new Map<string, MarkingMeaning>(PREDEFINED);

  /** Remember a marking-definition object found in the document (a predefined id keeps its meaning). */
  add(def: Record<string, unknown>): void {
    if (typeof def.id === 'string' && !PREDEFINED.has(def.id)) this.meanings.set(def.id, markingMeaning(def));
  }

  /**
   * Raise `result.tlp` to the most restrictive TLP among `refs`. A ref that is neither a predefined TLP
   * nor defined in the document, or that looks like TLP without a known level, fails closed: the reason
   * comes back and the caller quarantines rather than let a restricted value through unmarked.
   */
  resolve(refs: readonly unknown[], result: { tlp: Tlp | undefined }): string | undefined {
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i];
      const meaning = typeof ref === 'string' ? this.meanings.get(ref) : undefined;
      if (meaning === undefined) {
        return typeof ref === 'string'
          ? `marking ${ref} is neither a predefined TLP nor defined in the document (failing closed)`
          : `marking ref ${JSON.stringify(ref)} is not a marking-definition id`;
      }
      if (meaning.kind === 'tlp') result.tlp = mostRestrictiveTlp(result.tlp, meaning.tlp);
      else if (meaning.kind === 'unknown-tlp') return `marking ${ref}: ${meaning.reason} (failing closed)`;
    }
    return undefined;
  }
}

const PREDEFINED: ReadonlyMap<string, MarkingMeaning> = new Map(
  Object.entries({ ...TLP_1, ...TLP_2 }).map(([id, tlp]) => [id, { kind: 'tlp', tlp }] as const),
);
