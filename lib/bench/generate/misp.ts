/**
 * A deterministic MISP event of N attributes shaped like a large real event (a restSearch answer):
 * event tags with TLP and a galaxy, a threat-actor galaxy, plain attributes (ip-dst, domain, url, md5,
 * sha256), composites (ip-dst|port, domain|ip, filename|sha256), `file` objects with filename / md5 /
 * sha1 / sha256, some `to_ids=false`, some attribute TLP tags, some sightings, and a few text attributes
 * the parser skips. Every value is distinct, so no cache keyed on the value can help a parser.
 */

import { HEX, rng, TLDS, WORDS } from './random.ts';

export interface GeneratedMisp {
  bytes: Uint8Array;
  /** Attributes in the event, object attributes included. */
  attributes: number;
  /** `file` objects in the event. */
  objects: number;
  /** Indicators a parser should emit (composites count two). */
  values: number;
  /** Attributes a parser should skip (unmapped `text`). */
  skipped: number;
}

const PORTS = [80, 443, 8080, 8443, 4444, 1337];

/**
 * Build the event. `attributes` is the total attribute count; about 10 % of it sits in `file` objects.
 *
 * @example generateMispEvent(50_000).values // about 55 000 indicators
 */
export function generateMispEvent(attributes: number, seed = 20240601): GeneratedMisp {
  const random = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += HEX[Math.floor(random() * 16)];
    return s;
  };
  const uuid = (): string =>
    `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  const start = 1_704_067_200; // 2024-01-01T00:00:00Z
  let serial = 0;
  // Distinct by construction: the serial number is spread over the first three octets.
  const ip = (): string => {
    const n = ++serial;
    return `${1 + ((n >> 16) & 0x7f)}.${(n >> 8) & 0xff}.${n & 0xff}.${1 + Math.floor(random() * 254)}`;
  };
  const domain = (): string => `${pick(WORDS)}-${(++serial).toString(36)}.${pick(WORDS)}.${pick(TLDS)}`;

  let values = 0;
  let skipped = 0;
  let count = 0;
  let objects = 0;
  const attribute = (type: string, value: string, extra: Record<string, unknown> = {}) => {
    count++;
    const toIds = random() > 0.2;
    const a: Record<string, unknown> = {
      id: String(count),
      type,
      category:
        type === 'text'
          ? 'Other'
          : type.includes('file') || type.length < 7
            ? 'Payload delivery'
            : 'Network activity',
      to_ids: toIds,
      uuid: uuid(),
      event_id: '1',
      distribution: '5',
      timestamp: String(start + Math.floor(random() * 86_400 * 30)),
      comment: random() < 0.1 ? 'seen in campaign' : '',
      sharing_group_id: '0',
      deleted: false,
      disable_correlation: false,
      object_id: '0',
      object_relation: null,
      first_seen: null,
      last_seen: null,
      value,
      Galaxy: [],
      ShadowAttribute: [],
      ...extra,
    };
    if (random() < 0.05) a['Tag'] = [{ id: '7', name: 'tlp:green', colour: '#33ff00', exportable: true }];
    if (random() < 0.05) a['Sighting'] = [{ id: '1', type: '0', date_sighting: String(start) }];
    return a;
  };

  const plain: object[] = [];
  const fileObjects: object[] = [];
  while (count < attributes) {
    const roll = random();
    if (roll < 0.1 && attributes - count >= 4) {
      objects++;
      const name = `sample-${(++serial).toString(36)}.exe`;
      const relation = (r: string) => ({ object_relation: r, object_id: String(objects) });
      fileObjects.push({
        id: String(objects),
        name: 'file',
        'meta-category': 'file',
        uuid: uuid(),
        timestamp: String(start),
        deleted: false,
        Attribute: [
          attribute('filename', name, relation('filename')),
          attribute('md5', hex(32), relation('md5')),
          attribute('sha1', hex(40), relation('sha1')),
          attribute('sha256', hex(64), relation('sha256')),
        ],
      });
      values += 4;
    } else if (roll < 0.35) {
      plain.push(attribute('ip-dst', ip()));
      values++;
    } else if (roll < 0.45) {
      plain.push(attribute('ip-dst|port', `${ip()}|${pick(PORTS)}`));
      values++;
    } else if (roll < 0.6) {
      plain.push(attribute('domain', domain()));
      values++;
    } else if (roll < 0.7) {
      plain.push(attribute('url', `https://${domain()}/${pick(WORDS)}/${hex(8)}.php?id=${hex(6)}`));
      values++;
    } else if (roll < 0.78) {
      plain.push(attribute('sha256', hex(64)));
      values++;
    } else if (roll < 0.85) {
      plain.push(attribute('md5', hex(32)));
      values++;
    } else if (roll < 0.92) {
      plain.push(attribute('filename|sha256', `dropper-${(++serial).toString(36)}.dll|${hex(64)}`));
      values += 2;
    } else if (roll < 0.98) {
      plain.push(attribute('domain|ip', `${domain()}|${ip()}`));
      values += 2;
    } else {
      plain.push(attribute('text', `analyst note ${serial++}`));
      skipped++;
    }
  }

  const event = {
    response: [
      {
        Event: {
          id: '1',
          orgc_id: '1',
          org_id: '1',
          date: '2024-01-31',
          threat_level_id: '2',
          info: `Benchmark event with ${attributes} attributes`,
          published: true,
          uuid: uuid(),
          attribute_count: String(attributes),
          analysis: '2',
          timestamp: String(start + 86_400 * 30),
          distribution: '1',
          publish_timestamp: String(start + 86_400 * 30),
          Org: { id: '1', name: 'Example Threat Intel Provider', uuid: uuid() },
          Orgc: { id: '1', name: 'Example Threat Intel Provider', uuid: uuid() },
          Tag: [
            { id: '1', name: 'tlp:amber', colour: '#FFC000', exportable: true },
            { id: '2', name: 'misp-galaxy:malpedia="Emotet"', colour: '#0088cc', exportable: true },
            { id: '3', name: 'type:OSINT', colour: '#004646', exportable: true },
          ],
          Galaxy: [
            {
              id: '1',
              type: 'threat-actor',
              name: 'Threat Actor',
              GalaxyCluster: [{ type: 'threat-actor', value: 'TA542' }],
            },
          ],
          Attribute: plain,
          Object: fileObjects,
        },
      },
    ],
  };
  return {
    bytes: new TextEncoder().encode(JSON.stringify(event)),
    attributes: count,
    objects,
    values,
    skipped,
  };
}
