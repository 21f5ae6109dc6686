import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFeedConfig } from '../../../functions/domain/feed-config.ts';
import type { Indicator } from '../../../functions/domain/indicator.ts';
import { parseDocument } from '../../../functions/formats/index.ts';
import { detectStix, stixParser } from '../../../functions/formats/stix/index.ts';
import {
  DocumentError,
  type ParseOptions,
  type QuarantineRecord,
  type SkippedRecord,
} from '../../../functions/formats/types.ts';

const OPTIONS: ParseOptions = { feedId: 'stix-test', receivedAt: '2026-01-01T00:00:00.000Z' };
const T = '2024-03-01T10:00:00.000Z';
const TLP = {
  white1: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  red1: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
  clear2: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green2: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amberStrict2: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
};

let counter = 0;
/** A fresh, valid UUID v4 so every object in a test has its own id. */
const uuid = () => `00000000-0000-4000-8000-${(++counter).toString(16).padStart(12, '0')}`;

/** A valid STIX 2.1 indicator, with overrides. */
function indicator(pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${uuid()}`,
    created: T,
    modified: T,
    pattern,
    pattern_type: 'stix',
    valid_from: T,
    ...extra,
  };
}

interface Parsed {
  indicators: Indicator[];
  quarantined: QuarantineRecord[];
  skipped: SkippedRecord[];
  records: number;
}

function parse(doc: unknown, options: ParseOptions = OPTIONS): Parsed {
  const bytes = new TextEncoder().encode(typeof doc === 'string' ? doc : JSON.stringify(doc));
  const parsed: Parsed = { indicators: [], quarantined: [], skipped: [], records: 0 };
  for (const event of stixParser.parse(bytes, options)) {
    parsed.records++;
    if (event.kind === 'indicator') parsed.indicators.push(event.indicator);
    else if (event.kind === 'quarantine') parsed.quarantined.push(event.record);
    else parsed.skipped.push(event.record);
  }
  return parsed;
}

const bundle = (...objects: unknown[]) => ({ type: 'bundle', id: `bundle--${uuid()}`, objects });

describe('stixParser: the version of each object', () => {
  /** A STIX 2.0 indicator as MISP exports it: labels, no pattern_type, valid_until equal to valid_from. */
  const indicator20 = (value: string, extra: Record<string, unknown> = {}) => ({
    type: 'indicator',
    id: `indicator--${uuid()}`,
    created: T,
    modified: T,
    labels: ['malicious-activity'],
    pattern: `[domain-name:value = '${value}']`,
    valid_from: T,
    valid_until: T,
    ...extra,
  });
  const bundle20 = (...objects: unknown[]) => ({ ...bundle(...objects), spec_version: '2.0' });

  it('reads a 2.0 bundle whose indicators have valid_until equal to valid_from (only 2.1 forbids it)', () => {
    // Act
    const parsed = parse(bundle20(indicator20('a.example.org'), indicator20('b.example.org')));
    // Assess
    expect(parsed.indicators.map((i) => i.value)).toEqual(['a.example.org', 'b.example.org']);
    expect(parsed.quarantined).toEqual([]);
  });

  it("keeps a bundle's declared 2.0 even when an object has a 2.1-looking property", () => {
    // Act: pattern_type is a 2.1 property; under 2.0 rules, labels are still required.
    const parsed = parse(
      bundle20(
        indicator20('c.example.org', { pattern_type: 'stix' }),
        indicator20('d.example.org', { pattern_type: 'stix', labels: undefined }),
      ),
    );
    // Assess
    expect(parsed.indicators.map((i) => i.value)).toEqual(['c.example.org']);
    expect(parsed.quarantined.map((q) => q.reason)).toEqual([
      'indicator: missing required property "labels" (STIX 2.0 indicator)',
    ]);
  });

  it('gives an object without spec_version the version its bundle declares (2.1), with 2.1 rules', () => {
    // Prepare
    const inherit = indicator("[domain-name:value = 'e.example.org']", { spec_version: undefined });
    const equal = indicator("[domain-name:value = 'f.example.org']", {
      spec_version: undefined,
      valid_until: T,
    });
    for (const obj of [inherit, equal]) delete obj['spec_version'];
    // Act
    const parsed = parse({ ...bundle(inherit, equal), spec_version: '2.1' });
    // Assess
    expect(parsed.indicators.map((i) => i.value)).toEqual(['e.example.org']);
    expect(parsed.quarantined.map((q) => q.reason)).toEqual([
      `indicator: "valid_until" (${T}) is not later than "valid_from" (${T})`,
    ]);
  });

  it('infers 2.1 from the shape when neither the object nor its bundle says, and then wants spec_version', () => {
    // Prepare
    const obj = indicator("[domain-name:value = 'g.example.org']");
    delete obj['spec_version'];
    // Act
    const parsed = parse(bundle(obj));
    // Assess
    expect(parsed.quarantined.map((q) => q.reason)).toEqual([
      'indicator: missing required property "spec_version" (required on STIX 2.1 indicator objects)',
    ]);
  });
});

describe('stixParser', () => {
  it('yields exactly the valid indicators of a mixed bundle; the rest is quarantined or counted', () => {
    // Prepare
    const good1 = indicator("[ipv4-addr:value = '198.51.100.7']");
    const good2 = indicator(
      "[domain-name:value = 'evil.example.net' OR url:value = 'http://evil.example.net/a']",
    );
    const broken = indicator("[ipv4-addr:value = '198.51.100.8'");
    const snort = indicator('alert tcp any any -> any 80 (msg:"x"; sid:1;)', { pattern_type: 'snort' });
    const badId = indicator("[ipv4-addr:value = '198.51.100.9']", { id: 'indicator--1234' });
    const custom = {
      type: 'x-acme-widget',
      id: `x-acme-widget--${uuid()}`,
      spec_version: '2.1',
      created: T,
      modified: T,
      x_acme_colour: 'blue',
    };
    const doc = bundle(good1, broken, snort, badId, custom, good2);

    // Act
    const parsed = parse(doc);

    // Assess
    expect(parsed.indicators.map((i) => `${i.type} ${i.value}`)).toEqual([
      'ipv4 198.51.100.7',
      'domain evil.example.net',
      'url http://evil.example.net/a',
    ]);
    expect(parsed.quarantined.map((q) => [q.objectId, q.reason])).toEqual([
      [broken.id, "pattern does not parse: at position 33: expected ']' or AND / OR, found end of pattern"],
      ['indicator--1234', 'indicator: "id" "indicator--1234" is not indicator--<UUID>'],
    ]);
    expect(parsed.skipped.map((s) => [s.objectId, s.reason])).toEqual([
      [snort.id, 'pattern_type snort is not mined (only stix patterns are)'],
      [custom.id, 'custom object type x-acme-widget: kept as is, no indicator'],
    ]);
    expect(parsed.records).toBe(parsed.indicators.length + parsed.quarantined.length + parsed.skipped.length);
  });

  it('keeps the original pattern, the path and whether the comparison stood alone', () => {
    // Prepare
    const doc = bundle(
      indicator("[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E' AND file:size > 10]"),
      indicator(
        "[ipv4-addr:value = '198.51.100.7'] FOLLOWEDBY [domain-name:value = 'c2.example.org'] WITHIN 60 SECONDS",
      ),
    );

    // Act
    const { indicators } = parse(doc);

    // Assess
    expect(
      indicators.map((i) => [i.value, i.context.path, i.context.combination, i.context.qualified]),
    ).toEqual([
      ['d41d8cd98f00b204e9800998ecf8427e', 'file:hashes.MD5', 'and', undefined],
      ['198.51.100.7', 'ipv4-addr:value', 'followedby', undefined],
      ['c2.example.org', 'domain-name:value', 'followedby', true],
    ]);
    expect(indicators[0]?.context.pattern).toBe(
      "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E' AND file:size > 10]",
    );
  });

  it('keeps a custom "__proto__" property as data', () => {
    // Prepare
    const text = JSON.stringify(bundle(indicator("[domain-name:value = 'a.example.org']"))).replace(
      '"pattern_type"',
      '"__proto__": {"polluted": true}, "pattern_type"',
    );

    // Act
    const [result] = parse(text).indicators;

    // Assess
    const custom = result?.context.custom as Record<string, unknown>;
    expect(Object.getPrototypeOf(custom)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(custom, '__proto__')?.value).toEqual({ polluted: true });
  });

  it('counts a custom SCO (new-sco extension, no created/modified) as skipped, not invalid', () => {
    // Prepare
    const sco = {
      type: 'x-acme-beacon',
      spec_version: '2.1',
      id: `x-acme-beacon--${uuid()}`,
      interval: 60,
      extensions: {
        'extension-definition--a932fcc6-e032-476c-826f-cb970a5a1ade': { extension_type: 'new-sco' },
      },
    };

    // Act
    const parsed = parse(bundle(sco));

    // Assess
    expect(parsed.skipped.map((s) => s.reason)).toEqual([
      'custom object type x-acme-beacon: kept as is, no indicator',
    ]);
  });

  it('carries confidence, labels, indicator types, kill chain, validity, revocation and custom properties', () => {
    // Prepare
    const obj = indicator("[url:value = 'http://evil.example.com/x']", {
      confidence: 85,
      labels: ['phishing'],
      indicator_types: ['malicious-activity'],
      kill_chain_phases: [{ kill_chain_name: 'lockheed-martin-cyber-kill-chain', phase_name: 'delivery' }],
      valid_until: '2025-01-01T00:00:00Z',
      revoked: true,
      created_by_ref: 'identity--f690c992-8e7d-4b9a-9303-3312616c0220',
      x_acme_score: 7,
      extensions: {
        'extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e': {
          extension_type: 'property-extension',
          rank: 5,
        },
      },
    });

    // Act
    const [result] = parse(bundle(obj)).indicators;

    // Assess
    expect(result).toMatchObject({
      type: 'url',
      value: 'http://evil.example.com/x',
      confidence: 85,
      labels: ['malicious-activity', 'phishing'],
      killChainPhases: [{ killChainName: 'lockheed-martin-cyber-kill-chain', phaseName: 'delivery' }],
      validFrom: T,
      validUntil: '2025-01-01T00:00:00Z',
      revoked: true,
      context: {
        createdByRef: 'identity--f690c992-8e7d-4b9a-9303-3312616c0220',
        custom: { x_acme_score: 7 },
        extensions: {
          'extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e': {
            extension_type: 'property-extension',
            rank: 5,
          },
        },
      },
    });
  });

  it.each([
    [[TLP.white1], 'clear'],
    [[TLP.red1], 'red'],
    [[TLP.clear2], 'clear'],
    [[TLP.green2], 'green'],
    [[TLP.amberStrict2], 'amber+strict'],
    [[TLP.green2, TLP.amberStrict2], 'amber+strict'],
  ])('reads the predefined TLP markings %j as %s', (refs, tlp) => {
    // Act
    const [result] = parse(
      bundle(indicator("[domain-name:value = 'x.example.org']", { object_marking_refs: refs })),
    ).indicators;

    // Assess
    expect(result?.tlp).toBe(tlp);
  });

  it('reads TLP 2.0 extension markings and TLP 1.0 definitions defined in the document', () => {
    // Prepare
    const clear = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: `marking-definition--${uuid()}`,
      created: T,
      name: 'TLP:CLEAR',
      extensions: {
        'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': {
          extension_type: 'property-extension',
          tlp_2_0: 'clear',
        },
      },
    };
    const amber = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: `marking-definition--${uuid()}`,
      created: T,
      definition_type: 'tlp',
      definition: { tlp: 'amber' },
    };
    const doc = bundle(
      indicator("[domain-name:value = 'a.example.org']", { object_marking_refs: [clear.id] }),
      indicator("[domain-name:value = 'b.example.org']", { object_marking_refs: [clear.id, amber.id] }),
      clear,
      amber,
    );

    // Act
    const { indicators } = parse(doc);

    // Assess
    expect(indicators.map((i) => i.tlp)).toEqual(['clear', 'amber']);
  });

  it('fails closed on a marking it cannot resolve, and on a TLP-like marking with an unknown level', () => {
    // Prepare
    const purple = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: `marking-definition--${uuid()}`,
      created: T,
      definition_type: 'tlp',
      definition: { tlp: 'purple' },
    };
    const statement = {
      type: 'marking-definition',
      spec_version: '2.1',
      id: `marking-definition--${uuid()}`,
      created: T,
      definition_type: 'statement',
      definition: { statement: 'Copyright Example' },
    };
    const unknownRef = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec';
    const doc = bundle(
      indicator("[domain-name:value = 'a.example.org']", { object_marking_refs: [unknownRef] }),
      indicator("[domain-name:value = 'b.example.org']", { object_marking_refs: [purple.id] }),
      indicator("[domain-name:value = 'c.example.org']", { object_marking_refs: [statement.id, TLP.green2] }),
      purple,
      statement,
    );

    // Act
    const parsed = parse(doc);

    // Assess
    expect(parsed.indicators.map((i) => [i.value, i.tlp])).toEqual([['c.example.org', 'green']]);
    expect(parsed.quarantined.map((q) => q.reason)).toEqual([
      `indicator: marking ${unknownRef} is neither a predefined TLP nor defined in the document (failing closed)`,
      `indicator: marking ${purple.id}: TLP marking with unknown level "purple" (failing closed)`,
    ]);
  });

  it('applies granular markings on the values it takes, not those only on the description', () => {
    // Prepare
    const obj = indicator("[domain-name:value = 'a.example.org']", {
      object_marking_refs: [TLP.green2],
      granular_markings: [
        { marking_ref: TLP.red1, selectors: ['description'] },
        { marking_ref: TLP.amberStrict2, selectors: ['pattern'] },
      ],
    });

    // Act
    const [result] = parse(bundle(obj)).indicators;

    // Assess
    expect(result?.tlp).toBe('amber+strict');
  });

  it('raises the TLP to that of the malware whose name it takes, and fails closed on an unknown one', () => {
    // Prepare
    const red = {
      type: 'malware',
      spec_version: '2.1',
      id: `malware--${uuid()}`,
      created: T,
      modified: T,
      name: 'RedRAT',
      is_family: true,
      object_marking_refs: [TLP.red1],
    };
    const unknown = {
      ...red,
      id: `malware--${uuid()}`,
      name: 'Ghost',
      object_marking_refs: [`marking-definition--${uuid()}`],
    };
    const a = indicator("[domain-name:value = 'a.example.org']", { object_marking_refs: [TLP.green2] });
    const b = indicator("[domain-name:value = 'b.example.org']");
    const rel = (source: string, target: string) => ({
      type: 'relationship',
      spec_version: '2.1',
      id: `relationship--${uuid()}`,
      created: T,
      modified: T,
      relationship_type: 'indicates',
      source_ref: source,
      target_ref: target,
    });
    const doc = bundle(a, b, rel(a.id as string, red.id), rel(b.id as string, unknown.id), red, unknown);

    // Act
    const parsed = parse(doc);

    // Assess
    expect(parsed.indicators.map((i) => [i.value, i.names, i.tlp])).toEqual([
      ['a.example.org', ['RedRAT'], 'red'],
    ]);
    expect(parsed.quarantined.map((q) => q.objectId)).toEqual([b.id]);
  });

  it.each([
    [
      { spec_version: undefined },
      'indicator: missing required property "spec_version" (required on STIX 2.1 indicator objects)',
    ],
    [{ pattern_type: undefined }, 'indicator: missing required property "pattern_type" (STIX 2.1 indicator)'],
    [{ valid_from: undefined }, 'indicator: missing required property "valid_from" (STIX 2.1 indicator)'],
    [
      { valid_until: '2000-01-01T00:00:00Z' },
      'indicator: "valid_until" (2000-01-01T00:00:00Z) is not later than "valid_from" (2024-03-01T10:00:00.000Z)',
    ],
    [
      { created: '2024-13-01T00:00:00Z' },
      'indicator: "created" is not a STIX timestamp: "2024-13-01T00:00:00Z"',
    ],
    [
      { modified: '2024-03-01T09:59:59.999Z' },
      'indicator: "modified" (2024-03-01T09:59:59.999Z) is earlier than "created" (2024-03-01T10:00:00.000Z)',
    ],
    [{ confidence: 101 }, 'indicator: "confidence" must be an integer 0-100, found "101"'],
    [{ spec_version: '2.2' }, 'indicator: unsupported spec_version "2.2" (expected 2.0 or 2.1)'],
    [
      { id: 'malware--00000000-0000-4000-8000-000000000001' },
      'indicator: "id" "malware--00000000-0000-4000-8000-000000000001" is not indicator--<UUID>',
    ],
    [{ labels: 'malicious' }, 'indicator: "labels" must be a non-empty list'],
  ])('quarantines an indicator with %j: %s', (override, reason) => {
    // Prepare
    const obj = indicator("[domain-name:value = 'a.example.org']", override);
    for (const [k, v] of Object.entries(override)) if (v === undefined) delete obj[k];

    // Act
    const parsed = parse(bundle(obj));

    // Assess
    expect(parsed.quarantined.map((q) => q.reason)).toEqual([reason]);
  });

  it.each([
    [
      { type: 'ipv4-addr', id: 'ipv4-addr--00000000-0000-4000-8000-0000000000a1' },
      'ipv4-addr: missing required property "value" (ipv4-addr)',
    ],
    [
      { type: 'file', id: 'file--00000000-0000-4000-8000-0000000000a2', size: 3 },
      'file: a file needs "hashes" or "name"',
    ],
    [
      { type: 'file', id: 'file--00000000-0000-4000-8000-0000000000a3', hashes: ['x'] },
      'file: "hashes" must be a dictionary',
    ],
    [
      {
        type: 'observed-data',
        spec_version: '2.1',
        id: 'observed-data--00000000-0000-4000-8000-0000000000a4',
        created: T,
        modified: T,
        first_observed: T,
        last_observed: '2020-01-01T00:00:00Z',
        number_observed: 1,
        object_refs: [],
      },
      'observed-data: "last_observed" (2020-01-01T00:00:00Z) is earlier than "first_observed" (2024-03-01T10:00:00.000Z)',
    ],
    [
      {
        type: 'observed-data',
        spec_version: '2.1',
        id: 'observed-data--00000000-0000-4000-8000-0000000000a5',
        created: T,
        modified: T,
        first_observed: T,
        last_observed: T,
        number_observed: 0,
        object_refs: [],
      },
      'observed-data: "number_observed" must be an integer 1-999999999, found "0"',
    ],
    [
      {
        type: 'observed-data',
        spec_version: '2.1',
        id: 'observed-data--00000000-0000-4000-8000-0000000000a6',
        created: T,
        modified: T,
        first_observed: T,
        last_observed: T,
        number_observed: 1,
      },
      'observed-data: missing required property "object_refs" (or the 2.0 "objects" dictionary)',
    ],
    [
      {
        ...indicator("[file:name = 'a.exe']"),
        id: 'indicator--00000000-0000-4000-8000-0000000000a7',
        kill_chain_phases: [{ phase_name: 'x' }],
      },
      'indicator: "kill_chain_phases" entries need kill_chain_name and phase_name, found "{\\"phase_name\\":\\"x\\"}"',
    ],
  ])('quarantines the invalid object %j', (obj, reason) => {
    // Act
    const parsed = parse(bundle(obj));

    // Assess
    expect(parsed.quarantined.map((q) => q.reason)).toEqual([reason]);
  });

  it('dates an SCO by the earliest and latest of the observed-data that reference it, and sums the counts', () => {
    // Prepare
    const sco = {
      type: 'domain-name',
      spec_version: '2.1',
      id: `domain-name--${uuid()}`,
      value: 'seen.example.org',
    };
    const observed = (first: string, last: string, n: number) => ({
      type: 'observed-data',
      spec_version: '2.1',
      id: `observed-data--${uuid()}`,
      created: T,
      modified: T,
      first_observed: first,
      last_observed: last,
      number_observed: n,
      object_refs: [sco.id],
    });
    const doc = bundle(
      observed('2024-01-01T00:00:00.5Z', '2024-01-02T00:00:00Z', 2),
      sco,
      observed('2024-01-01T00:00:00.25Z', '2024-01-02T00:00:00.1Z', 3),
    );

    // Act
    const [result] = parse(doc).indicators;

    // Assess
    expect(result).toMatchObject({
      firstSeen: '2024-01-01T00:00:00.25Z',
      lastSeen: '2024-01-02T00:00:00.1Z',
      context: { count: 5 },
    });
  });

  it('quarantines a bad embedded object of 2.0 observed-data and keeps the good ones', () => {
    // Prepare
    const observed = {
      type: 'observed-data',
      id: `observed-data--${uuid()}`,
      created: T,
      modified: T,
      first_observed: T,
      last_observed: T,
      number_observed: 3,
      objects: {
        '0': { type: 'domain-name', value: 'a.example.org' },
        '1': { type: 'ipv4-addr' },
        '2': { value: 'x' },
      },
    };

    // Act
    const parsed = parse({
      type: 'bundle',
      id: `bundle--${uuid()}`,
      spec_version: '2.0',
      objects: [observed],
    });

    // Assess
    expect(parsed.indicators.map((i) => [i.value, i.context.count, i.source.rawRef])).toEqual([
      ['a.example.org', 3, '/objects/0/objects/0'],
    ]);
    expect(parsed.quarantined.map((q) => [q.rawRef, q.reason])).toEqual([
      [
        '/objects/0/objects/1',
        'observed-data: embedded ipv4-addr 1: missing required property "value" (ipv4-addr)',
      ],
      ['/objects/0/objects/2', 'observed-data: embedded object 2 has no "type"'],
    ]);
  });

  it('needs labels on a 2.0 indicator and accepts one without pattern_type', () => {
    // Prepare
    const v20 = {
      type: 'indicator',
      id: `indicator--${uuid()}`,
      created: T,
      modified: T,
      pattern: "[domain-name:value = 'a.example.org']",
      valid_from: T,
    };
    const doc = {
      type: 'bundle',
      id: `bundle--${uuid()}`,
      spec_version: '2.0',
      objects: [v20, { ...v20, id: `indicator--${uuid()}`, labels: ['malicious-activity'] }],
    };

    // Act
    const parsed = parse(doc);

    // Assess
    expect(parsed.quarantined.map((q) => q.reason)).toEqual([
      'indicator: missing required property "labels" (STIX 2.0 indicator)',
    ]);
    expect(parsed.indicators.map((i) => i.context.specVersion)).toEqual(['2.0']);
  });

  it('infers 2.1 for an object with 2.1 properties in a bundle that says 2.0', () => {
    // Prepare
    const obj = indicator("[domain-name:value = 'a.example.org']");
    const doc = { type: 'bundle', id: `bundle--${uuid()}`, spec_version: '2.0', objects: [obj] };

    // Act
    const [result] = parse(doc).indicators;

    // Assess
    expect(result?.context.specVersion).toBe('2.1');
  });

  it('quarantines a value that does not normalize, with the normalizer reason, and keeps the others', () => {
    // Prepare
    const obj = indicator("[ipv4-addr:value = '999.1.1.1' OR ipv4-addr:value = '198.51.100.1']");

    // Act
    const parsed = parse(bundle(obj));

    // Assess
    expect(parsed.indicators.map((i) => i.value)).toEqual(['198.51.100.1']);
    expect(parsed.quarantined).toEqual([
      expect.objectContaining({
        objectId: obj.id,
        type: 'ipv4',
        value: '999.1.1.1',
        reason: 'ipv4-addr:value = "999.1.1.1": expected a dotted-quad IPv4 address, found "999.1.1.1"',
      }),
    ]);
  });

  it.each([
    ['a bundle', (o: unknown[]) => bundle(...o), '/objects/0'],
    ['a TAXII envelope', (o: unknown[]) => ({ more: false, objects: o }), '/objects/0'],
    ['a list of objects', (o: unknown[]) => o, '/0'],
    ['a bare object', (o: unknown[]) => o[0], ''],
  ])('reads %s', (_name, wrap, rawRef) => {
    // Prepare
    const doc = wrap([indicator("[domain-name:value = 'a.example.org']")]);

    // Act
    const [result] = parse(doc).indicators;

    // Assess
    expect(result?.value).toBe('a.example.org');
    expect(result?.source.rawRef).toBe(rawRef === '' ? '/0' : rawRef);
  });

  it('reads an empty TAXII page as no records', () => {
    // Act
    const parsed = parse({ more: false });

    // Assess
    expect(parsed.records).toBe(0);
  });

  it('quarantines list entries that are not objects and objects without a type', () => {
    // Act
    const parsed = parse([42, null, { id: 'indicator--x' }, { type: 'Bad Type', id: 'x' }]);

    // Assess
    expect(parsed.quarantined.map((q) => q.reason)).toEqual([
      'expected a STIX object, found number',
      'expected a STIX object, found null',
      'missing required property "type"',
      'Bad Type: "type" "Bad Type" is not a valid STIX type name',
    ]);
  });

  it.each([
    ['{"objects": 5}', /"objects" must be a list/],
    ['{"foo": 1}', /not a STIX document: expected a bundle.*keys foo/],
    ['"text"', /expected a JSON object or array, found string/],
    ['{"type": "bundle", ', /not valid JSON/],
  ])('refuses %s as a whole', (text, message) => {
    // Act
    const attempt = () => parse(text);

    // Assess
    expect(attempt).toThrow(DocumentError);
    expect(attempt).toThrow(message);
  });

  it('honours the feed type filter with a counted skip', () => {
    // Prepare
    const feedConfig = parseFeedConfig({
      id: 'only-domains',
      format: 'stix',
      filters: { types: ['domain'] },
    });
    if (!feedConfig.ok) throw new Error(feedConfig.reason);
    const doc = bundle(
      indicator("[domain-name:value = 'a.example.org' OR ipv4-addr:value = '198.51.100.1']"),
    );

    // Act
    const parsed = parse(doc, { ...OPTIONS, feedConfig: feedConfig.value });

    // Assess
    expect(parsed.indicators.map((i) => i.type)).toEqual(['domain']);
    expect(parsed.skipped.map((s) => s.reason)).toEqual(['type ipv4 filtered out by the feed configuration']);
  });

  it('emits one indicator per distinct value of a pattern', () => {
    // Act
    const parsed = parse(
      bundle(indicator("[domain-name:value = 'a.example.org'] OR [domain-name:value = 'A.example.org']")),
    );

    // Assess
    expect(parsed.indicators.map((i) => i.value)).toEqual(['a.example.org', 'a.example.org']);
  });
});

describe('detectStix', () => {
  it.each([
    ['{"type": "bundle", "id": "bundle--1", "objects": []}'],
    ['{"id": "indicator--33fe3b22-0201-47cf-85d0-97c02164528d", "type": "indicator"}'],
    ['[{"type": "indicator", "id": "indicator--33fe3b22-0201-47cf-85d0-97c02164528d"}]'],
    ['{"more": true, "next": "2", "objects": [{"type": "malware"}]}'],
    ['\n  {"objects": []}'],
  ])('recognizes %s', (head) => {
    expect(detectStix(head)).toBe(true);
  });

  it.each([
    ['{"Event": {"uuid": "57c4445b-c548-4654-af0b-4be3950d210f", "info": "x"}}'],
    ['{"response": [{"Event": {"id": "12"}}]}'],
    ['[{"Event": {"id": "1"}}]'],
    ['{"foo": "bar", "id": "12"}'],
    ['ip,port\n198.51.100.1,80'],
    ['C2 at hxxp://evil[.]com'],
  ])('leaves %s to other parsers', (head) => {
    expect(detectStix(head)).toBe(false);
  });

  it('leaves the MISP fixtures of the corpus to the MISP parser', () => {
    // Prepare
    const names = ['pymisp--57c4445b-c548-4654-af0b-4be3950d210f.json', 'eset--cloudmensis.misp.json'];

    // Act
    const detected = names.map((n) =>
      detectStix(
        readFileSync(new URL(`../../fixtures/feeds/misp/${n}`, import.meta.url), 'utf8').slice(0, 8192),
      ),
    );

    // Assess
    expect(detected).toEqual([false, false]);
  });
});

describe('stixParser: TAXII containers', () => {
  const TAXII = new URL('../../fixtures/feeds/taxii/', import.meta.url);

  it("reads a TAXII server's data file (medallion default_data.json): every collection's objects, as STIX 2.1", () => {
    // Prepare
    const bytes = readFileSync(new URL('medallion-default_data.json', TAXII));
    // Act
    const { format, events } = parseDocument(bytes, 'auto', OPTIONS);
    const all = [...events];
    // Assess
    expect(format).toBe('stix');
    expect(all).toHaveLength(8);
    const indicators = all.flatMap((e) => (e.kind === 'indicator' ? [e.indicator] : []));
    expect(indicators.map((i) => i.value)).toContain('http://z4z10farb.cn/4712');
    expect(indicators[0]?.source.rawRef).toMatch(/^\/trustgroup1\/collections\/2\/objects\/\d+$/);
    expect(all.filter((e) => e.kind === 'quarantine')).toEqual([]);
  });

  it('reads a TAXII envelope ({"more":…,"objects":[…]}) as STIX', () => {
    // Prepare
    const envelope = { more: false, objects: [indicator("[ipv4-addr:value = '198.51.100.77']")] };
    // Act
    const { format, events } = parseDocument(
      new TextEncoder().encode(JSON.stringify(envelope)),
      'auto',
      OPTIONS,
    );
    // Assess
    expect(format).toBe('stix');
    expect([...events].flatMap((e) => (e.kind === 'indicator' ? [e.indicator.value] : []))).toEqual([
      '198.51.100.77',
    ]);
  });
});
