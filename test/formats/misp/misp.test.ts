import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FeedConfigInput, FeedConfigSchema } from '../../../functions/domain/feed-config.ts';
import type { Indicator } from '../../../functions/domain/indicator.ts';
import { detectFormat, parseDocument } from '../../../functions/formats/index.ts';
import { detectMisp, mispParser } from '../../../functions/formats/misp/index.ts';
import {
  DocumentError,
  type ParseEvent,
  type QuarantineRecord,
  type SkippedRecord,
} from '../../../functions/formats/types.ts';

const FIXTURES = new URL('../../fixtures/feeds/misp/', import.meta.url);
const fixture = (name: string): Uint8Array => readFileSync(new URL(name, FIXTURES));
const RECEIVED_AT = '2026-01-01T00:00:00.000Z';

function feedConfig(input: Partial<FeedConfigInput> = {}) {
  return FeedConfigSchema.parse({ id: 'misp-test', format: 'misp', ...input });
}

function parse(input: Uint8Array | unknown, config?: ReturnType<typeof feedConfig>) {
  const bytes = input instanceof Uint8Array ? input : new TextEncoder().encode(JSON.stringify(input));
  const events: ParseEvent[] = [
    ...mispParser.parse(bytes, { feedId: 'misp-test', receivedAt: RECEIVED_AT, feedConfig: config }),
  ];
  const indicators: Indicator[] = [];
  const quarantined: QuarantineRecord[] = [];
  const skipped: SkippedRecord[] = [];
  for (const e of events) {
    if (e.kind === 'indicator') indicators.push(e.indicator);
    else if (e.kind === 'quarantine') quarantined.push(e.record);
    else skipped.push(e.record);
  }
  return { events, indicators, quarantined, skipped, pairs: indicators.map((i) => `${i.type}:${i.value}`) };
}

describe('mispParser on the hand-written composite event', () => {
  it('gives exactly the right indicators from attributes, composites and objects', () => {
    // Prepare
    const bytes = fixture('composite-event.json');

    // Act
    const { pairs, indicators, quarantined, skipped } = parse(bytes);

    // Assess
    expect(pairs).toEqual([
      'ipv4:198.51.100.7',
      'domain:c2.example.net',
      'ipv4:203.0.113.9',
      'filename:dropper.exe',
      'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'url:http://bad.example.org/gate.php',
      'cidr:192.0.2.0/24',
      'cve:CVE-2021-44228',
      'asn:AS64496',
      'registry-key:HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
      'ja3:e7d705a3286e19ea42f587b344ee6865',
      'filename:invoice.pdf.exe',
      'md5:44d88612fea8a8f36de82e1278abb02f',
      'sha1:3395856ce81f2b7382dee72602f798b642f14140',
      'filename:invoice.pdf.exe',
      'md5:44d88612fea8a8f36de82e1278abb02f',
      'ipv6:2001:db8::1',
    ]);
    expect(indicators).toHaveLength(17);
    expect(quarantined).toHaveLength(2);
    expect(skipped.map((s) => s.reason)).toEqual([
      'deleted attribute',
      'MISP type "text" is free text, not an indicator',
      'MISP type "size-in-bytes" has no indicator mapping',
      'deleted object (1 attributes not read)',
      'deleted attribute',
    ]);
  });

  it('never lets a deleted or invalid value through', () => {
    // Prepare
    const bytes = fixture('composite-event.json');

    // Act
    const { indicators } = parse(bytes);
    const text = JSON.stringify(indicators);

    // Assess
    for (const banned of [
      'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      'old.example.net',
      'gone.example.net',
      '0123456789abcdef0123456789abcdeZ'.toLowerCase(),
      'no-bar-in-this-value',
    ]) {
      expect(text).not.toContain(banned);
    }
  });

  it('quarantines the invalid hash and the composite without a bar, with reasons', () => {
    // Act
    const { quarantined } = parse(fixture('composite-event.json'));

    // Assess
    expect(quarantined).toEqual([
      expect.objectContaining({
        objectId: 'a0000000-0000-4000-8000-000000000003',
        rawRef: '/Event/Attribute/3',
        type: 'md5',
        reason: expect.stringContaining('expected 32 hex digits for md5'),
      }),
      expect.objectContaining({
        objectId: 'a0000000-0000-4000-8000-00000000000b',
        rawRef: '/Event/Attribute/11',
        reason: expect.stringContaining('expected a composite filename|md5 value'),
      }),
    ]);
  });

  it('carries TLP, names, labels, seen times, sightings and MISP context', () => {
    // Act
    const { indicators } = parse(fixture('composite-event.json'));
    const byValue = (v: string) => indicators.find((i) => i.value === v);
    const c2 = byValue('198.51.100.7');

    // Assess
    expect(c2).toMatchObject({
      tlp: 'amber',
      confidence: 75,
      names: ['TA542', 'Emotet'],
      labels: ['type:OSINT'],
      firstSeen: '2023-11-01T10:00:00.000Z',
      lastSeen: '2023-11-02T10:00:00.000Z',
      source: {
        feedId: 'misp-test',
        format: 'misp',
        objectId: 'a0000000-0000-4000-8000-000000000000',
        rawRef: '/Event/Attribute/0',
      },
      context: {
        mispType: 'ip-dst|port',
        port: 8080,
        sightings: 2,
        falsePositives: 1,
        category: 'Network activity',
        comment: 'C2 server',
        eventUuid: '5e0c2b6a-1d2c-4b7e-9a51-6f3b8d2a0c11',
        eventInfo: 'Composite, object and edge-case test event',
        org: 'CTI Test Org',
        toIds: true,
      },
    });
    expect(byValue('192.0.2.0/24')).toMatchObject({ tlp: 'green', labels: ['type:OSINT', 'scanner'] });
    expect(byValue('http://bad.example.org/gate.php')).toMatchObject({
      confidence: 30,
      context: { toIds: false },
    });
    expect(byValue('2001:db8::1')?.context).toMatchObject({ objectName: 'domain-ip', objectRelation: 'ip' });
    expect(byValue('3395856ce81f2b7382dee72602f798b642f14140')).toMatchObject({
      firstSeen: '2023-10-30T00:00:00.000Z',
      lastSeen: '2023-11-14T22:13:20.000Z',
      context: { objectName: 'file', objectUuid: 'b0000000-0000-4000-8000-000000000000' },
    });
    expect(indicators.find((i) => i.type === 'registry-key')?.context).toMatchObject({
      registryValue: 'evil.exe',
    });
  });
});

describe('mispParser feed filters', () => {
  it.each([
    ['keep', 75, 17, 0],
    ['lower-confidence', 30, 17, 0],
    ['drop', undefined, 13, 4],
  ] as const)('to_ids=false %s gives confidence %s', (mode, confidence, indicatorCount, extraSkips) => {
    // Act
    const { indicators, skipped } = parse(
      fixture('composite-event.json'),
      feedConfig({ filters: { toIdsFalse: mode } }),
    );

    // Assess
    expect(indicators).toHaveLength(indicatorCount);
    expect(skipped).toHaveLength(5 + extraSkips);
    expect(indicators.find((i) => i.value === 'http://bad.example.org/gate.php')?.confidence).toBe(
      confidence,
    );
  });

  it('uses the feed default confidence and lowers to_ids=false below it', () => {
    // Act
    const { indicators } = parse(
      fixture('composite-event.json'),
      feedConfig({ defaults: { confidence: 90 }, filters: { toIdsFalseConfidence: 40 } }),
    );

    // Assess
    expect(indicators.find((i) => i.value === '198.51.100.7')?.confidence).toBe(90);
    expect(indicators.find((i) => i.value === 'CVE-2021-44228')?.confidence).toBe(40);
  });

  it('skips a whole event above maxThreatLevelId as one counted record', () => {
    // Act
    const { events, skipped } = parse(
      fixture('composite-event.json'),
      feedConfig({ filters: { maxThreatLevelId: 1 } }),
    );

    // Assess
    expect(events).toHaveLength(1);
    expect(skipped[0]).toEqual({
      reason: "event threat_level_id 2 is above the feed's maxThreatLevelId 1 (21 attributes not read)",
      rawRef: '/Event',
      objectId: '5e0c2b6a-1d2c-4b7e-9a51-6f3b8d2a0c11',
    });
  });

  it('skips unpublished events when the feed takes published ones only', () => {
    // Act
    const zebrocy = parse(
      fixture('eset--sednit-2019-05-23_Zebrocy.json'),
      feedConfig({ filters: { publishedOnly: true } }),
    );
    const composite = parse(
      fixture('composite-event.json'),
      feedConfig({ filters: { publishedOnly: true } }),
    );

    // Assess
    expect(zebrocy.skipped.map((s) => s.reason)).toEqual([
      'event is not published and the feed takes published events only (12 attributes not read)',
    ]);
    expect(composite.indicators).toHaveLength(17);
  });

  it('skips types outside the feed types filter', () => {
    // Act
    const { pairs, skipped } = parse(
      fixture('composite-event.json'),
      feedConfig({ filters: { types: ['ipv4', 'ipv6'] } }),
    );

    // Assess
    expect(pairs).toEqual(['ipv4:198.51.100.7', 'ipv4:203.0.113.9', 'ipv6:2001:db8::1']);
    // The invalid md5 is filtered out by type before it could be quarantined.
    expect(skipped.filter((s) => s.reason.includes("not in the feed's types filter"))).toHaveLength(15);
  });

  it('falls back to the feed default TLP and adds the feed labels', () => {
    // Act
    const { indicators } = parse(
      fixture('pymisp--malware_exist.json'),
      feedConfig({ defaults: { tlp: 'red', labels: ['from-misp'] } }),
    );

    // Assess
    expect(indicators.every((i) => i.tlp === 'red' && i.labels.includes('from-misp'))).toBe(true);
  });
});

describe('mispParser TLP from tags', () => {
  it('fails closed on an unknown tlp tag unless the attribute has its own', () => {
    // Act
    const { indicators, quarantined } = parse(fixture('bad-tlp-event.json'));

    // Assess
    expect(indicators.map((i) => [i.value, i.tlp])).toEqual([['shared.example.net', 'green']]);
    expect(quarantined).toEqual([
      expect.objectContaining({
        objectId: 'c0000000-0000-4000-8000-000000000000',
        reason: expect.stringContaining('unknown TLP tag "tlp:ex:chr"'),
      }),
    ]);
  });

  it.each([
    ['tlp:clear', 'clear'],
    ['tlp:white', 'clear'],
    ['TLP:GREEN', 'green'],
    ['tlp:amber', 'amber'],
    ['tlp:amber+strict', 'amber+strict'],
    ['tlp:red', 'red'],
  ])('reads %s as %s', (tag, tlp) => {
    // Act
    const { indicators } = parse({
      Event: { Tag: [{ name: tag }], Attribute: [{ type: 'ip-dst', value: '198.51.100.9' }] },
    });

    // Assess
    expect(indicators[0]?.tlp).toBe(tlp);
  });

  it('takes the most restrictive of several tlp tags', () => {
    // Act
    const { indicators } = parse({
      Event: {
        Tag: [{ name: 'tlp:green' }, { name: 'tlp:red' }],
        Attribute: [{ type: 'domain', value: 'x.example.net' }],
      },
    });

    // Assess
    expect(indicators[0]?.tlp).toBe('red');
  });
});

describe('mispParser on corpus events', () => {
  it('reads ESET CloudMensis (restSearch wrapper, objects only, attack-pattern galaxy tags)', () => {
    // Act
    const { pairs, indicators, skipped, quarantined } = parse(fixture('eset--cloudmensis.misp.json'));

    // Assess
    expect(indicators).toHaveLength(12);
    expect(skipped).toHaveLength(10);
    expect(quarantined).toHaveLength(0);
    expect(pairs).toContain('sha256:273633eee4776aef40904124ed1722a0793e6567f3009cdb037ed0a9d79c1b0b');
    expect(pairs).toContain('md5:70ba5b348e73cb9c4a70667953a01218');
    expect(pairs).toContain('filename:windowserver');
    expect(skipped.every((s) => s.reason === 'MISP type "text" is free text, not an indicator')).toBe(true);
    const sha1 = indicators.find((i) => i.value === 'c3e48c2a2d43c752121e55b909fc705fe4fdaef6');
    expect(sha1?.tlp).toBeUndefined();
    expect(sha1).toMatchObject({
      confidence: 75,
      labels: ['ESET'],
      firstSeen: '2022-04-28T14:19:23.000Z',
      context: { eventInfo: 'CloudMensis', org: 'ESET', objectName: 'file' },
    });
    expect(sha1?.names).toHaveLength(12);
    expect(sha1?.names).toContain('Launch Daemon - T1543.004');
    expect(indicators.find((i) => i.value === 'mdworker3')?.confidence).toBe(30);
  });

  it('reads ESET Zebrocy (threat-actor galaxy, to_ids=false, a URL with spaces, a link)', () => {
    // Act
    const { pairs, indicators, skipped, quarantined } = parse(
      fixture('eset--sednit-2019-05-23_Zebrocy.json'),
    );

    // Assess
    expect(indicators).toHaveLength(11);
    expect(quarantined).toHaveLength(0);
    expect(skipped.map((s) => s.reason)).toEqual([
      'MISP type "link" is a reference to analysis (a report or sandbox page), not an indicator',
    ]);
    expect(pairs).toContain('url:http://45.124.132.127/DOVIDNIK%20-%20(2018).zip');
    expect(pairs).toContain('sha1:48f8b152b86bed027b9152725505fbf4a24a39fd');
    expect(pairs).toContain('md5:42acdf5d17705ecdc00e7f8b998795c3');
    expect(
      indicators.every((i) => i.names.join() === 'Sofacy' && i.confidence === 30 && i.tlp === undefined),
    ).toBe(true);
    expect(indicators[0]?.firstSeen).toBe('2019-04-18T14:53:39.000Z');
  });

  it('reads the PyMISP feed-style event (tlp:white, regkey|value without a hive)', () => {
    // Act
    const { pairs, indicators, skipped, quarantined } = parse(
      fixture('pymisp--57c4445b-c548-4654-af0b-4be3950d210f.json'),
    );

    // Assess
    expect(pairs).toEqual([
      'filename:3Z4wnG9603it23y.exe',
      'md5:0749bae92ca336a02c83d126e04ec628',
      'sha1:77b0c41b7d340b8a3d903f21347bbf06aa766b5b',
      'sha256:b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68',
    ]);
    expect(indicators.every((i) => i.tlp === 'clear' && i.context['org'] === 'CIRCL')).toBe(true);
    expect(indicators[0]?.labels).toContain('ms-caro-malware:malware-type="Ransom"');
    expect(skipped).toHaveLength(4);
    expect(quarantined).toEqual([
      expect.objectContaining({
        type: 'regkey|value',
        reason: expect.stringContaining('regkey|value part 1 (registry-key): '),
      }),
    ]);
  });

  it('reads a malware-sample composite from a {"response":[{event fields}]} answer', () => {
    // Act
    const { pairs, skipped } = parse(fixture('pymisp--malware_exist.json'));

    // Assess
    expect(pairs).toEqual([
      'filename:simple.json',
      'md5:7637beddacbeac59d44469b2b120b9e6',
      'filename:simple.json',
      'md5:7637beddacbeac59d44469b2b120b9e6',
      'sha1:023853a4331db8d67e44553004cf338ec1b7440e',
      'sha256:6ae8b0f1c7d6f3238d1fc14038018c3b4704c8cc23dac1c2bfd2c81b5a278eef',
    ]);
    expect(skipped.map((s) => s.reason)).toEqual(['MISP type "size-in-bytes" has no indicator mapping']);
  });

  it('counts sightings and takes names from attribute galaxies', () => {
    // Act
    const { events, skipped } = parse(fixture('pymisp--sighting_2.json'));

    // Assess
    expect(events).toHaveLength(2);
    expect(skipped.map((s) => s.reason)).toEqual([
      'MISP type "comment" is a note, not an indicator',
      'MISP type "target-external" has no indicator mapping',
    ]);
  });

  it('reads sightings into context', () => {
    // Act
    const { indicators } = parse({
      Event: {
        Attribute: [
          {
            type: 'domain',
            value: 'seen.example.net',
            Sighting: [{ type: '0' }, { type: 0 }, { type: '2' }],
          },
        ],
      },
    });

    // Assess
    expect(indicators[0]?.context).toMatchObject({ sightings: 2, expirations: 1 });
  });

  it.each([
    ['pymisp--event.json', 0, 0, 0],
    ['pymisp--event_obj_attr_tag.json', 2, 0, 0],
    ['pymisp--misp_custom_obj.json', 0, 2, 0],
    ['pymisp--misp_event.json', 1, 1, 0],
    ['pymisp--search_index_result.json', 0, 0, 0],
    ['pymisp--shadow.json', 2, 1, 0],
    ['pymisp--galaxy.json', 0, 0, 1],
  ])('reads %s: %i indicators, %i skipped, %i quarantined', (name, nIndicators, nSkipped, nQuarantined) => {
    // Act
    const { indicators, skipped, quarantined } = parse(fixture(name));

    // Assess
    expect([indicators.length, skipped.length, quarantined.length]).toEqual([
      nIndicators,
      nSkipped,
      nQuarantined,
    ]);
  });

  it('takes ShadowAttribute proposals as nothing and reads the accepted values', () => {
    // Act
    const { pairs } = parse(fixture('pymisp--shadow.json'));

    // Assess
    expect(pairs).toEqual(['filename:blah.exe', 'filename:baz.png']);
  });

  it('reads the EventTag TLP of an /events/index answer into the event scope', () => {
    // Act
    const { indicators } = parse([
      {
        EventTag: [{ Tag: { name: 'TLP:GREEN' } }],
        Attribute: [{ type: 'hostname', value: 'index.example.net' }],
      },
    ]);

    // Assess
    expect(indicators[0]).toMatchObject({ type: 'domain', tlp: 'green' });
  });
});

describe('mispParser document shapes', () => {
  const attr = { type: 'ip-dst', value: '198.51.100.30', to_ids: true };

  it.each([
    ['an {"Event"} wrapper', { Event: { Attribute: [attr] } }, '/Event/Attribute/0'],
    ['an array of wrappers', [{ Event: { Attribute: [attr] } }], '/0/Event/Attribute/0'],
    [
      'a restSearch answer',
      { response: [{ Event: { Attribute: [attr] } }] },
      '/response/0/Event/Attribute/0',
    ],
    [
      'a restSearch of event fields',
      { response: [{ info: 'x', Attribute: [attr] }] },
      '/response/0/Attribute/0',
    ],
    ['an attribute restSearch', { response: { Attribute: [attr] } }, '/response/Attribute/0'],
    ['a bare attribute list', [attr], '/0'],
    ['an Attribute fragment', { Attribute: [attr] }, '/Attribute/0'],
    ['an Object fragment', { Object: [{ name: 'ip', Attribute: [attr] }] }, '/Object/0/Attribute/0'],
  ])('reads %s', (_name, doc, rawRef) => {
    // Act
    const { indicators } = parse(doc);

    // Assess
    expect(indicators.map((i) => [i.value, i.source.rawRef])).toEqual([['198.51.100.30', rawRef]]);
  });

  it.each([
    ['ip-src', '198.51.100.0/24', 'cidr:198.51.100.0/24'],
    ['ip-dst', '198.51.100.5/32', 'ipv4:198.51.100.5'],
    ['ip-dst', '2001:db8::/32', 'cidr:2001:db8::/32'],
    ['ip-src|port', '2001:db8::7|443', 'ipv6:2001:db8::7'],
    ['hostname|port', 'Mail.Example.net|25', 'domain:mail.example.net'],
    ['uri', 'https://x.example.org/a', 'url:https://x.example.org/a'],
    ['email-src', 'Phish@Example.net', 'email:phish@example.net'],
    [
      'x509-fingerprint-sha1',
      'A9993E364706816ABA3E25717850C26C9CD0D89D',
      'sha1:a9993e364706816aba3e25717850c26c9cd0d89d',
    ],
    ['user-agent', 'Mozilla/5.0  (evil)', 'user-agent:Mozilla/5.0 (evil)'],
    ['mutex', 'Global\\xyz', 'mutex:Global\\xyz'],
    ['AS', 13335, 'asn:AS13335'],
  ])('maps %s %s', (type, value, expected) => {
    // Act
    const { pairs } = parse([{ type, value }]);

    // Assess
    expect(pairs).toEqual([expected]);
  });

  it('keeps digests with no canonical type as context of the file name', () => {
    // Act
    const { indicators } = parse([{ type: 'filename|sha224', value: 'a.exe|abc123' }]);

    // Assess
    expect(indicators.map((i) => [i.type, i.value, i.context['sha224']])).toEqual([
      ['filename', 'a.exe', 'abc123'],
    ]);
  });

  it('adds attribute galaxies and galaxy tags to the event names', () => {
    // Act
    const { indicators } = parse({
      Event: {
        Tag: [{ name: 'misp-galaxy:threat-actor="Sofacy"' }],
        Attribute: [
          {
            type: 'domain',
            value: 'named.example.net',
            Tag: [{ name: 'misp-galaxy:tool="X-Agent"' }, { name: 'misp-galaxy:broken' }],
            Galaxy: [{ type: 'malpedia', GalaxyCluster: [{ value: 'Zebrocy' }] }],
          },
        ],
      },
    });

    // Assess
    expect(indicators[0]).toMatchObject({
      names: ['Sofacy', 'X-Agent', 'Zebrocy'],
      labels: ['misp-galaxy:broken'],
    });
  });

  it('skips a uri that is a bare path', () => {
    // Act
    const { skipped } = parse([{ type: 'uri', value: '/gate.php' }]);

    // Assess
    expect(skipped[0]?.reason).toContain('bare path');
  });

  it.each([
    [[{ type: 'ip-dst|port', value: '198.51.100.1|99999' }], 'expected a port 0-65535'],
    [[{ type: 'ip-dst', value: 42.5, to_ids: 'maybe' }], 'invalid MISP attribute'],
    [{ Event: { threat_level_id: 'high' } }, 'invalid MISP event'],
    [{ Event: { Object: ['not an object'] } }, 'invalid MISP object'],
    [[42], 'expected a MISP event'],
    [{ hello: 'world' }, 'not a MISP event or attribute'],
  ])('quarantines %j with a reason', (doc, reason) => {
    // Act
    const { quarantined, indicators } = parse(doc);

    // Assess
    expect(indicators).toHaveLength(0);
    expect(quarantined[0]?.reason).toContain(reason);
  });

  it('throws DocumentError for bytes that are not JSON', () => {
    expect(() =>
      mispParser.parse(new TextEncoder().encode('{"Event": '), { feedId: 'x', receivedAt: RECEIVED_AT }),
    ).toThrow(DocumentError);
  });

  it('never throws on arbitrary JSON-ish shapes, and counts one event per record', () => {
    const scalar = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom('1', '0', '-1'),
    );
    const attribute = fc.record(
      {
        type: fc.oneof(
          fc.constantFrom('ip-dst', 'md5', 'filename|md5', 'ip-src|port', 'domain|ip', 'url', 'text'),
          scalar,
        ),
        value: fc.oneof(fc.string(), fc.ipV4(), fc.domain(), scalar),
        to_ids: scalar,
        deleted: scalar,
        timestamp: scalar,
        first_seen: scalar,
        Tag: fc.oneof(
          fc.array(fc.record({ name: fc.oneof(fc.constantFrom('tlp:red', 'tlp:bogus'), fc.string()) })),
          scalar,
        ),
        Sighting: fc.oneof(fc.array(fc.record({ type: scalar })), scalar),
      },
      { requiredKeys: [] },
    );
    const event = fc.record(
      {
        threat_level_id: scalar,
        published: scalar,
        Tag: fc.array(fc.record({ name: fc.string() })),
        Attribute: fc.oneof(fc.array(attribute), scalar),
        Object: fc.oneof(
          fc.array(fc.record({ deleted: scalar, Attribute: fc.array(attribute) }, { requiredKeys: [] })),
          scalar,
        ),
      },
      { requiredKeys: [] },
    );
    const doc = fc.oneof(
      event.map((e) => ({ Event: e })),
      fc.array(event.map((e) => ({ Event: e }))),
      fc.array(event).map((r) => ({ response: r })),
      fc.array(attribute),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(doc, (d) => {
        const { events } = parse(d);
        for (const e of events) expect(['indicator', 'quarantine', 'skip']).toContain(e.kind);
      }),
      { numRuns: 300 },
    );
  });
});

describe('detectMisp and --format auto', () => {
  it.each([
    'eset--cloudmensis.misp.json',
    'eset--sednit-2019-05-23_Zebrocy.json',
    'pymisp--57c4445b-c548-4654-af0b-4be3950d210f.json',
    'pymisp--event.json',
    'pymisp--misp_event.json',
    'composite-event.json',
  ])('recognizes %s as MISP', (name) => {
    expect(detectFormat(fixture(name))).toBe('misp');
  });

  it.each([
    ['a STIX bundle', '{"type":"bundle","objects":[]}'],
    ['plain text', 'evil.example.net'],
    ['a JSON list of strings', '["a","b"]'],
  ])('does not claim %s', (_name, head) => {
    expect(detectMisp(head)).toBe(false);
  });

  it('parses through the registry with format misp', () => {
    // Act
    const { format, events } = parseDocument(fixture('composite-event.json'), 'auto', {
      feedId: 'x',
      receivedAt: RECEIVED_AT,
    });

    // Assess
    expect(format).toBe('misp');
    expect([...events].filter((e) => e.kind === 'indicator')).toHaveLength(17);
  });
});
