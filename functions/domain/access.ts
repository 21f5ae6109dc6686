import { z } from 'zod';
import { TLP_LEVELS, type Tlp, TlpSchema } from './indicator.ts';

/**
 * Who may call which route. A credential has one role: `provider` pushes to its feeds, `reader` reads
 * (up to a TLP ceiling, optionally some feeds), `operator` does everything (keys, feeds, replay). The REST
 * API's Lambda authorizer turns this table into an IAM policy per caller, and the stack's routes are tied
 * to it by a test, so a route cannot exist without an access rule.
 */
export const ROLES = ['provider', 'reader', 'operator'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export interface RouteAccess {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  /** API Gateway resource path; `{name}` segments are path parameters. */
  path: string;
  roles: readonly Role[];
  /** Also allow the path with a trailing slash (TAXII clients send it). */
  trailingSlash?: true;
}

/** Routes anyone may call, without a credential. */
export const PUBLIC_ROUTES: readonly Omit<RouteAccess, 'roles'>[] = [
  { method: 'GET', path: '/health' },
  // The console page: static HTML; the data it shows it reads with the key the user enters.
  { method: 'GET', path: '/' },
];

/** Every authorized route and the roles that may call it. */
export const ROUTE_ACCESS: readonly RouteAccess[] = [
  { method: 'POST', path: '/feeds/{feedId}/documents', roles: ['provider', 'operator'] },
  { method: 'GET', path: '/indicators', roles: ['reader', 'operator'] },
  { method: 'GET', path: '/indicators/{type}/{value+}', roles: ['reader', 'operator'] },
  { method: 'GET', path: '/exports/{format}', roles: ['reader', 'operator'] },
  { method: 'GET', path: '/exports/misp/{file}', roles: ['reader', 'operator'] },
  { method: 'GET', path: '/taxii2', roles: ['reader', 'operator'], trailingSlash: true },
  { method: 'GET', path: '/taxii2/api', roles: ['reader', 'operator'], trailingSlash: true },
  { method: 'GET', path: '/taxii2/api/collections', roles: ['reader', 'operator'], trailingSlash: true },
  {
    method: 'GET',
    path: '/taxii2/api/collections/{collectionId}',
    roles: ['reader', 'operator'],
    trailingSlash: true,
  },
  {
    method: 'GET',
    path: '/taxii2/api/collections/{collectionId}/objects',
    roles: ['reader', 'operator'],
    trailingSlash: true,
  },
  {
    method: 'GET',
    path: '/taxii2/api/collections/{collectionId}/objects/{objectId}',
    roles: ['reader', 'operator'],
  },
  {
    method: 'GET',
    path: '/taxii2/api/collections/{collectionId}/objects/{objectId}/versions',
    roles: ['reader', 'operator'],
  },
  {
    method: 'GET',
    path: '/taxii2/api/collections/{collectionId}/manifest',
    roles: ['reader', 'operator'],
    trailingSlash: true,
  },
  { method: 'GET', path: '/status/pipelines', roles: ['reader', 'operator'] },
  { method: 'GET', path: '/status/pipelines/{documentId}', roles: ['reader', 'operator'] },
  { method: 'GET', path: '/status/feeds', roles: ['reader', 'operator'] },
  // Quarantined records keep the offending raw values, whatever their TLP: operators only.
  { method: 'GET', path: '/quarantine', roles: ['operator'] },
  // The access trail names every caller and what it read: operators only.
  { method: 'GET', path: '/audit', roles: ['operator'] },
  { method: 'GET', path: '/metrics', roles: ['reader', 'operator'] },
  { method: 'GET', path: '/keys', roles: ['operator'] },
  { method: 'POST', path: '/keys', roles: ['operator'] },
  { method: 'POST', path: '/keys/{keyId}/rotate', roles: ['operator'] },
  { method: 'DELETE', path: '/keys/{keyId}', roles: ['operator'] },
  { method: 'POST', path: '/redrive/{queue}', roles: ['operator'] },
  { method: 'POST', path: '/documents/{documentId}/replay', roles: ['operator'] },
  { method: 'POST', path: '/feeds/{feedId}/replay', roles: ['operator'] },
  { method: 'GET', path: '/quarantine/{id}', roles: ['operator'] },
  { method: 'POST', path: '/quarantine/release', roles: ['operator'] },
  { method: 'POST', path: '/quarantine/discard', roles: ['operator'] },
];

/** The push route, the one a provider's feeds narrow. */
export const PUSH_ROUTE = '/feeds/{feedId}/documents';

/** A caller as the authorizer describes it to the functions behind the API. */
export interface Caller {
  keyId: string;
  role: Role;
  /** Highest TLP the caller may read (operators: red). */
  tlp: z.infer<typeof TlpSchema>;
  /** A provider's feeds, or the feeds a reader may see (empty: all, for readers). */
  feeds: string[];
}

/**
 * The authorizer's context as API Gateway hands it to an integration (`requestContext.authorizer`): flat
 * strings, feeds comma-joined.
 */
export const CallerContextSchema = z
  .object({
    keyId: z.string().min(1),
    role: RoleSchema,
    tlp: TlpSchema,
    feeds: z
      .string()
      .default('')
      .transform((s) => s.split(',').filter(Boolean)),
  })
  .loose();

/** The authorizer context of a caller (what API Gateway passes on). */
export function callerContext(caller: Caller): Record<string, string> {
  return { keyId: caller.keyId, role: caller.role, tlp: caller.tlp, feeds: caller.feeds.join(',') };
}

/** A feed id as the push route accepts it. */
export const FEED_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/;

/**
 * The execute-api resources a caller may invoke, under `base` (`arn:aws:execute-api:REGION:ACCOUNT:API/STAGE`):
 * every route of its role; for a provider the push route only for its own feeds. API Gateway caches a
 * decision per key and evaluates it against later requests, so this covers every route, not just the one
 * being called.
 *
 * @example allowedResources({ keyId: 'k', role: 'provider', tlp: 'green', feeds: ['soc'] }, 'arn:…/v1')
 * // ['arn:…/v1/POST/feeds/soc/documents']
 */
export function allowedResources(caller: Caller, base: string): string[] {
  const resources: string[] = [];
  for (const route of ROUTE_ACCESS) {
    if (!route.roles.includes(caller.role)) continue;
    if (route.path === PUSH_ROUTE && caller.role === 'provider') {
      for (const feed of caller.feeds)
        if (FEED_ID_PATTERN.test(feed)) resources.push(`${base}/${route.method}/feeds/${feed}/documents`);
      continue;
    }
    const resource = `${base}/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`;
    resources.push(resource);
    // TAXII clients ask for `…/collections/` with the slash the spec writes.
    if (route.trailingSlash) resources.push(`${resource}/`);
  }
  return resources;
}

/** Where a TLP stands: clear 0 … red 4. */
export function tlpRank(tlp: Tlp): number {
  return TLP_LEVELS.indexOf(tlp);
}

/**
 * The TLP an unmarked source is read at: amber (need to know). Failing closed keeps an unmarked report
 * from a closed community away from green readers; a public feed says so with `defaults.tlp: clear`.
 */
export const UNMARKED_TLP: Tlp = 'amber';

/** What a reader is told of one source of an indicator. */
export interface SourceView {
  feedId: string;
  tlp?: Tlp | undefined;
}

/** May this caller see this source: its feed (a reader's feed set, if any) and its TLP within the ceiling? */
export function maySee(caller: Caller, source: SourceView): boolean {
  if (caller.role === 'operator') return true;
  if (caller.role !== 'reader') return false;
  if (caller.feeds.length > 0 && !caller.feeds.includes(source.feedId)) return false;
  return tlpRank(source.tlp ?? UNMARKED_TLP) <= tlpRank(caller.tlp);
}

/**
 * An indicator as a caller may see it: only its visible sources; its TLP the highest of theirs (null when
 * none is marked); whether any source was withheld (then aggregate fields merged from every source —
 * names, labels — must not be shown). Undefined when no source is visible: the indicator is not returned.
 *
 * @example visibleSources(reader('green'), [{ feedId: 'a', tlp: 'red' }]) // undefined
 */
export function visibleSources<S extends SourceView>(
  caller: Caller,
  sources: readonly S[],
): { sources: S[]; tlp: Tlp | null; withheld: boolean } | undefined {
  const visible = sources.filter((s) => maySee(caller, s));
  if (visible.length === 0) return undefined;
  let tlp: Tlp | null = null;
  for (const s of visible)
    if (s.tlp !== undefined && (tlp === null || tlpRank(s.tlp) > tlpRank(tlp))) tlp = s.tlp;
  return { sources: visible, tlp, withheld: visible.length < sources.length };
}
