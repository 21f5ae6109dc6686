import { mostRestrictiveTlp, type Tlp } from '../../domain/indicator.ts';
import type { MispGalaxy, MispTag } from './schema.ts';

/** What a set of tags says about TLP: nothing, a level, or a `tlp:` tag this build does not know. */
export type TlpFromTags = { kind: 'none' } | { kind: 'level'; tlp: Tlp } | { kind: 'unknown'; tag: string };

const TLP_TAGS: Readonly<Record<string, Tlp>> = {
  'tlp:clear': 'clear',
  'tlp:white': 'clear',
  'tlp:green': 'green',
  'tlp:amber': 'amber',
  'tlp:amber+strict': 'amber+strict',
  'tlp:red': 'red',
};

const NONE: TlpFromTags = { kind: 'none' };

/** What tags say: TLP, names (galaxy tags) and the other tags as labels. */
export interface TagMeaning {
  tlp: TlpFromTags;
  names: string[];
  labels: string[];
}

const GALAXY_PREFIX = 'misp-galaxy:';

/**
 * Read MISP tags: `tlp:*` tags give the TLP (the most restrictive when there are several; an unknown
 * `tlp:*` tag fails closed as `unknown`), `misp-galaxy:<type>="<Name>"` tags give names, every other tag
 * is a label. Tag names are matched without regard to case (`TLP:GREEN` is common).
 *
 * @example readTags([{ name: 'tlp:amber' }, { name: 'misp-galaxy:threat-actor="Sofacy"' }, { name: 'ESET' }])
 * // { tlp: { kind: 'level', tlp: 'amber' }, names: ['Sofacy'], labels: ['ESET'] }
 */
export function readTags(tags: readonly MispTag[] | undefined): TagMeaning {
  const meaning: TagMeaning = { tlp: NONE, names: [], labels: [] };
  if (tags === undefined) return meaning;
  for (const tag of tags) {
    const name = tag.name.trim();
    const lower = name.toLowerCase();
    if (lower.startsWith('tlp:')) {
      meaning.tlp = combineTlp(meaning.tlp, lower);
    } else if (lower.startsWith(GALAXY_PREFIX)) {
      const clusterName = galaxyTagName(name);
      if (clusterName !== undefined) meaning.names.push(clusterName);
      else meaning.labels.push(name);
    } else if (name.length > 0) {
      meaning.labels.push(name);
    }
  }
  return meaning;
}

function combineTlp(current: TlpFromTags, lowerTag: string): TlpFromTags {
  if (current.kind === 'unknown') return current;
  const level = TLP_TAGS[lowerTag];
  if (level === undefined) return { kind: 'unknown', tag: lowerTag };
  const tlp = current.kind === 'level' ? mostRestrictiveTlp(current.tlp, level) : level;
  return { kind: 'level', tlp: tlp ?? level };
}

/** `misp-galaxy:threat-actor="Sofacy"` → `Sofacy`; undefined when the tag has no quoted name. */
function galaxyTagName(tag: string): string | undefined {
  const eq = tag.indexOf('="');
  if (eq < 0 || !tag.endsWith('"') || tag.length - 1 <= eq + 2) return undefined;
  return tag.slice(eq + 2, -1);
}

/**
 * Names of every galaxy cluster attached to an event or attribute.
 *
 * @example galaxyNames([{ type: 'threat-actor', GalaxyCluster: [{ value: 'Sofacy' }] }]) // ['Sofacy']
 */
export function galaxyNames(galaxies: readonly MispGalaxy[] | undefined): string[] {
  if (galaxies === undefined) return [];
  const names: string[] = [];
  for (const galaxy of galaxies) {
    for (const cluster of galaxy.GalaxyCluster ?? []) {
      if (cluster.value.length > 0) names.push(cluster.value);
    }
  }
  return names;
}
