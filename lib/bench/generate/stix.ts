/**
 * A deterministic STIX 2.1 bundle of N indicators shaped like real feed output: an identity, TLP and
 * statement markings, malware families, indicators whose patterns cover IPv4, domain, URL and file
 * hashes (some with two values under OR, some with a size condition under AND), descriptions, kill-chain
 * phases, external references, and `indicates` relationships to the malware. Every value is distinct,
 * so no cache keyed on the pattern text can help a parser.
 */

import { HEX, rng, TLDS, WORDS } from './random.ts';

export interface GeneratedStix {
  bytes: Uint8Array;
  /** Indicator objects in the bundle. */
  indicators: number;
  /** Values the patterns carry (what a parser should emit as indicators). */
  values: number;
  /** All objects (indicators, malware, relationships, identity, markings). */
  objects: number;
}

const TLP_2 = [
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
];
const FAMILIES = ['Emotet', 'QakBot', 'IcedID', 'Cobalt Strike', 'AgentTesla', 'Remcos', 'Formbook', 'Lumma'];
const PHASES = ['delivery', 'installation', 'command-and-control', 'exploitation', 'actions-on-objectives'];
const TYPES = ['malicious-activity', 'anomalous-activity', 'compromised', 'attribution'];

/**
 * Build the bundle. `indicators` indicator objects; about a third get an `indicates` relationship.
 *
 * @example generateStixBundle(1000).values // about 1150 values
 */
export function generateStixBundle(indicators: number, seed = 20240601): GeneratedStix {
  const random = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += HEX[Math.floor(random() * 16)];
    return s;
  };
  const uuid = (): string =>
    `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  const time = (base: number): string =>
    new Date(base + Math.floor(random() * 86_400_000 * 30)).toISOString();
  const start = Date.UTC(2024, 0, 1);

  const identity = `identity--${uuid()}`;
  const statement = `marking-definition--${uuid()}`;
  const objects: object[] = [
    {
      type: 'identity',
      spec_version: '2.1',
      id: identity,
      created: '2024-01-01T00:00:00.000Z',
      modified: '2024-01-01T00:00:00.000Z',
      name: 'Example Threat Intel Provider',
      identity_class: 'organization',
    },
    {
      type: 'marking-definition',
      spec_version: '2.1',
      id: statement,
      created: '2024-01-01T00:00:00.000Z',
      definition_type: 'statement',
      definition: { statement: 'Copyright 2024 Example Threat Intel Provider' },
    },
  ];
  const malware = FAMILIES.map((name) => {
    const id = `malware--${uuid()}`;
    objects.push({
      type: 'malware',
      spec_version: '2.1',
      id,
      created: '2024-01-01T00:00:00.000Z',
      modified: '2024-01-01T00:00:00.000Z',
      name,
      is_family: true,
      malware_types: ['trojan'],
      created_by_ref: identity,
    });
    return id;
  });

  let values = 0;
  for (let i = 0; i < indicators; i++) {
    const kind = random();
    let pattern: string;
    let label: string;
    if (kind < 0.3) {
      // An odd multiplier is a bijection on 32 bits: distinct, scattered addresses.
      const ip = Math.imul(i + 1, 2654435761) >>> 0;
      pattern = `[ipv4-addr:value = '${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}']`;
      label = 'IP address';
      values += 1;
    } else if (kind < 0.55) {
      pattern = `[domain-name:value = '${pick(WORDS)}-${i.toString(36)}${hex(4)}.${pick(TLDS)}']`;
      label = 'Domain';
      values += 1;
    } else if (kind < 0.75) {
      pattern = `[url:value = 'http://${pick(WORDS)}${i.toString(36)}.${pick(TLDS)}/${hex(6)}/${pick(WORDS)}.php?id=${i}']`;
      label = 'URL';
      values += 1;
    } else if (kind < 0.9) {
      pattern = `[file:hashes.'SHA-256' = '${hex(64)}' OR file:hashes.MD5 = '${hex(32)}']`;
      label = 'File hash';
      values += 2;
    } else {
      pattern = `[file:hashes.'SHA-1' = '${hex(40)}' AND file:size > ${1000 + Math.floor(random() * 900000)}]`;
      label = 'File hash';
      values += 1;
    }
    const created = time(start);
    const id = `indicator--${uuid()}`;
    const indicator: Record<string, unknown> = {
      type: 'indicator',
      spec_version: '2.1',
      id,
      created,
      modified: created,
      created_by_ref: identity,
      name: `${label} associated with malicious activity`,
      description: `${label} observed in ${pick(FAMILIES)} infrastructure during campaign tracking; block at the perimeter.`,
      indicator_types: [pick(TYPES)],
      pattern,
      pattern_type: 'stix',
      pattern_version: '2.1',
      valid_from: created,
      confidence: Math.floor(random() * 101),
      labels: [pick(WORDS), 'feed-export'],
      kill_chain_phases: [{ kill_chain_name: 'lockheed-martin-cyber-kill-chain', phase_name: pick(PHASES) }],
      object_marking_refs: [pick(TLP_2), statement],
    };
    if (random() < 0.5) indicator.valid_until = time(start + 86_400_000 * 60);
    if (random() < 0.4)
      indicator.external_references = [
        {
          source_name: 'example-report',
          url: `https://intel.example.com/reports/${hex(8)}`,
          external_id: `R-${i}`,
        },
      ];
    objects.push(indicator);
    if (random() < 0.33) {
      objects.push({
        type: 'relationship',
        spec_version: '2.1',
        id: `relationship--${uuid()}`,
        created,
        modified: created,
        relationship_type: 'indicates',
        source_ref: id,
        target_ref: pick(malware),
      });
    }
  }
  const bundle = { type: 'bundle', id: `bundle--${uuid()}`, objects };
  return {
    bytes: new TextEncoder().encode(JSON.stringify(bundle)),
    indicators,
    values,
    objects: objects.length,
  };
}
