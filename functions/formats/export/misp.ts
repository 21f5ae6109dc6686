import type { IndicatorType, Tlp } from '../../domain/indicator.ts';
import { type ExportIndicator, stableUuid } from './index.ts';

/**
 * A MISP feed (the format MISP's "Feeds" subscribe to): `manifest.json` lists the events, each event is
 * `{uuid}.json`. One event per source feed, holding the values the caller may see from it; attribute
 * uuids are stable per feed and value, so a MISP instance pulling again updates rather than duplicates.
 */

/** MISP attribute type and category for each indicator type. */
const MISP_TYPES: Record<IndicatorType, { type: string; category: string }> = {
  ipv4: { type: 'ip-dst', category: 'Network activity' },
  ipv6: { type: 'ip-dst', category: 'Network activity' },
  cidr: { type: 'ip-dst', category: 'Network activity' },
  domain: { type: 'domain', category: 'Network activity' },
  url: { type: 'url', category: 'Network activity' },
  email: { type: 'email-src', category: 'Payload delivery' },
  md5: { type: 'md5', category: 'Payload delivery' },
  sha1: { type: 'sha1', category: 'Payload delivery' },
  sha256: { type: 'sha256', category: 'Payload delivery' },
  sha512: { type: 'sha512', category: 'Payload delivery' },
  ssdeep: { type: 'ssdeep', category: 'Payload delivery' },
  filename: { type: 'filename', category: 'Payload delivery' },
  asn: { type: 'AS', category: 'Network activity' },
  cve: { type: 'vulnerability', category: 'External analysis' },
  ja3: { type: 'ja3-fingerprint-md5', category: 'Network activity' },
  mutex: { type: 'mutex', category: 'Artifacts dropped' },
  'registry-key': { type: 'regkey', category: 'Artifacts dropped' },
  'user-agent': { type: 'user-agent', category: 'Network activity' },
};

const TLP_RANK: Record<Tlp, number> = { clear: 0, green: 1, amber: 2, 'amber+strict': 3, red: 4 };

/** The organisation named as creator of every exported event. */
const ORG = { name: 'cti-ingest', uuid: stableUuid('org') };

const epoch = (iso: string) => String(Math.floor(Date.parse(iso) / 1000));

/** Names as galaxy-style tags (`misp-galaxy:cti-ingest="Pikabot"`): MISP shows them, MISP parsers read them as names. */
const tagsOf = (i: ExportIndicator) => [
  ...(i.tlp ? [{ name: `tlp:${i.tlp}` }] : []),
  ...i.names.map((n) => ({ name: `misp-galaxy:cti-ingest="${n.replaceAll('"', "'")}"` })),
  ...i.labels.map((l) => ({ name: l })),
];

/** The event uuid of a source feed. */
export const mispEventUuid = (feedId: string) => stableUuid(`misp-event:${feedId}`);

interface FeedEvent {
  uuid: string;
  feedId: string;
  indicators: ExportIndicator[];
}

/** The indicators grouped into one event per visible source feed (a value two feeds sent is in both). */
export function mispEvents(indicators: readonly ExportIndicator[]): FeedEvent[] {
  const byFeed = new Map<string, ExportIndicator[]>();
  for (const i of indicators)
    for (const { feedId } of i.sources) byFeed.set(feedId, [...(byFeed.get(feedId) ?? []), i]);
  return [...byFeed]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([feedId, list]) => ({ uuid: mispEventUuid(feedId), feedId, indicators: list }));
}

/** What manifest.json and the event say of an event as a whole. */
function eventHeader(event: FeedEvent) {
  const tlp = event.indicators
    .map((i) => i.tlp)
    .filter((t) => t !== null)
    .reduce<Tlp | undefined>((a, b) => (a === undefined || TLP_RANK[b] > TLP_RANK[a] ? b : a), undefined);
  const received = event.indicators.map((i) => i.lastReceived).sort();
  const first = event.indicators.map((i) => i.firstReceived).sort()[0] ?? '1970-01-01T00:00:00.000Z';
  return {
    info: `cti-ingest: indicators from feed ${event.feedId}`,
    date: first.slice(0, 10),
    analysis: '2',
    threat_level_id: '4',
    timestamp: epoch(received.at(-1) ?? first),
    Orgc: ORG,
    Tag: tlp ? [{ name: `tlp:${tlp}` }] : [],
  };
}

/** manifest.json: every event's uuid with its header. */
export function mispManifest(events: readonly FeedEvent[]): Record<string, unknown> {
  return Object.fromEntries(events.map((e) => [e.uuid, eventHeader(e)]));
}

/** `{uuid}.json`: the event with one attribute per value (to_ids, the source's first/last seen, tags). */
export function mispEvent(event: FeedEvent): { Event: Record<string, unknown> } {
  return {
    Event: {
      uuid: event.uuid,
      ...eventHeader(event),
      published: true,
      Attribute: event.indicators.map((i) => {
        const { type, category } = MISP_TYPES[i.type];
        return {
          uuid: stableUuid(`misp-attribute:${event.feedId}:${i.fingerprint}`),
          type,
          category,
          value: i.value,
          to_ids: !i.revoked,
          timestamp: epoch(i.lastReceived),
          ...(i.firstSeen ? { first_seen: i.firstSeen } : {}),
          ...(i.lastSeen ? { last_seen: i.lastSeen } : {}),
          comment: `feed ${event.feedId}`,
          Tag: tagsOf(i),
        };
      }),
    },
  };
}
