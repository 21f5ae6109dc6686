import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Indicator, IndicatorSchema } from '../../../functions/domain/indicator.ts';
import { detectFormat } from '../../../functions/formats/index.ts';
import { stixParser } from '../../../functions/formats/stix/index.ts';
import {
  DocumentError,
  type QuarantineRecord,
  type SkippedRecord,
} from '../../../functions/formats/types.ts';

const FIXTURES = new URL('../../fixtures/feeds/stix/', import.meta.url);
const OPTIONS = { feedId: 'stix-corpus', receivedAt: '2026-01-01T00:00:00.000Z' };

interface Parsed {
  indicators: Indicator[];
  quarantined: QuarantineRecord[];
  skipped: SkippedRecord[];
}

function parseFixture(name: string): Parsed {
  const bytes = readFileSync(new URL(name, FIXTURES));
  const parsed: Parsed = { indicators: [], quarantined: [], skipped: [] };
  for (const event of stixParser.parse(bytes, OPTIONS)) {
    if (event.kind === 'indicator') parsed.indicators.push(event.indicator);
    else if (event.kind === 'quarantine') parsed.quarantined.push(event.record);
    else parsed.skipped.push(event.record);
  }
  return parsed;
}

const counts = (p: Parsed) => [p.indicators.length, p.quarantined.length, p.skipped.length];
const values = (p: Parsed) => p.indicators.map((i) => `${i.type} ${i.value}`);

describe('stixParser on the STIX corpus', () => {
  it.each([
    ['stix20/mitre-attack--intrusion-set--68ba94ab.json', [0, 0, 1]],
    ['stix20/mitre-attack--x-mitre-tactic--2558fd61.json', [0, 0, 1]],
    ['stix20/oasis-schemas-2.0--indicator-for-c2-ip-address.json', [1, 0, 0]],
    ['stix20/oasis-schemas-2.0--indicator-to-campaign-relationship.json', [1, 0, 2]],
    ['stix20/oasis-schemas-2.0--indicators-for-C2-with-COA.json', [2, 0, 6]],
    ['stix20/oasis-schemas-2.0--malicious-email-indicator-with-attachment.json', [0, 0, 6]],
    ['stix20/pymisp--stix2.json', [1, 0, 2]],
    ['stix20/pystix2--attack-pattern--0a3ead4e.json', [0, 0, 1]],
    ['stix20/pystix2--course-of-action--d9727aee.json', [0, 0, 1]],
    ['stix20/validator-2.0--identity_custom.json', [0, 0, 1]],
    ['stix21/capec--attack-pattern--4480b2e7.json', [0, 0, 1]],
    ['stix21/oasis-docs--apt1.json', [10, 0, 66]],
    ['stix21/oasis-docs--identifying-a-threat-actor-profile.json', [0, 0, 3]],
    ['stix21/oasis-docs--malware-indicator-for-file-hash.json', [1, 0, 2]],
    ['stix21/oasis-docs--sighting-of-observed-data.json', [4, 0, 6]],
    ['stix21/oasis-docs--using-granular-markings.json', [0, 0, 4]],
    ['stix21/oasis-docs--using-marking-definitions.json', [1, 0, 3]],
    ['stix21/oasis-schemas--indicator-for-c2-ip-address.json', [1, 0, 0]],
    ['stix21/oasis-schemas--indicator-to-campaign-relationship.json', [1, 0, 2]],
    ['stix21/oasis-schemas--indicators-for-C2-with-COA.json', [2, 0, 6]],
    ['stix21/oasis-schemas--infrastructure.json', [2, 0, 8]],
    ['stix21/oasis-schemas--interop-objectmarking-test.json', [0, 0, 1]],
    ['stix21/oasis-schemas--malicious-email-indicator-with-attachment.json', [0, 0, 6]],
    ['stix21/pystix2--attack-pattern--0a3ead4e.json', [0, 0, 1]],
    ['stix21/pystix2--directory--572827aa.json', [0, 0, 1]],
    ['stix21/validator--identity.json', [0, 0, 1]],
    ['stix21/validator--identity_custom.json', [0, 0, 1]],
    ['stix21/validator--tlp-amber.json', [0, 0, 1]],
    ['stix-invalid/validator--identity_warning.json', [0, 0, 1]],
    ['stix-invalid/validator--invalid_identity.json', [0, 1, 0]],
    ['stix-invalid/validator--invalid_timestamp.json', [0, 1, 0]],
    ['stix-invalid/validator-2.0--invalid_identity.json', [0, 1, 0]],
  ])('%s gives [indicators, quarantined, skipped] = %j, every indicator canonical', (name, expected) => {
    // Act
    const parsed = parseFixture(name);

    // Assess
    expect(counts(parsed)).toEqual(expected);
    for (const indicator of parsed.indicators)
      expect(IndicatorSchema.safeParse(indicator).error).toBeUndefined();
  });

  it('reads a 2.0 indicator: labels, no pattern_type, version inferred from the bundle', () => {
    // Act
    const [indicator] = parseFixture('stix20/oasis-schemas-2.0--indicator-for-c2-ip-address.json').indicators;

    // Assess
    expect(indicator).toMatchObject({
      type: 'ipv4',
      value: '10.0.0.0',
      labels: ['malicious-activity'],
      validFrom: '2014-05-08T09:00:00.000000Z',
      revoked: false,
      source: {
        feedId: 'stix-corpus',
        format: 'stix',
        objectId: 'indicator--33fe3b22-0201-47cf-85d0-97c02164528d',
        rawRef: '/objects/0',
      },
      context: {
        specVersion: '2.0',
        pattern: "[ipv4-addr:value = '10.0.0.0']",
        path: 'ipv4-addr:value',
        combination: 'alone',
        name: 'IP Address for known C2 channel',
      },
    });
  });

  it.each([
    [
      'stix20/oasis-schemas-2.0--indicator-to-campaign-relationship.json',
      'ipv4 10.0.0.0',
      ['Operation Omega'],
    ],
    ['stix21/oasis-schemas--indicator-to-campaign-relationship.json', 'ipv4 10.0.0.0', ['Operation Omega']],
    [
      'stix21/oasis-docs--malware-indicator-for-file-hash.json',
      'sha256 ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c',
      ['Poison Ivy'],
    ],
    ['stix21/oasis-docs--apt1.json', 'cidr 223.166.0.0/15', ['HUC Packet Transmit Tool (HTRAN)']],
    ['stix21/oasis-docs--apt1.json', 'domain hugesoft.org', ['Ugly Gorilla']],
    ['stix21/oasis-docs--apt1.json', 'md5 001dd76872d80801692ff942308c64e6', []],
  ])('%s: %s is tied to %j through indicates relationships', (name, value, names) => {
    // Act
    const parsed = parseFixture(name);

    // Assess
    const indicator = parsed.indicators.find((i) => `${i.type} ${i.value}` === value);
    expect(indicator?.names).toEqual(names);
  });

  it('mines both indicators of the C2 bundle with their creator and the malware they indicate', () => {
    // Act
    const parsed = parseFixture('stix21/oasis-schemas--indicators-for-C2-with-COA.json');

    // Assess
    expect(values(parsed)).toEqual([
      'ipv4 10.0.0.0',
      'sha256 ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c',
    ]);
    for (const indicator of parsed.indicators) {
      expect(indicator.names).toEqual(['Poison Ivy']);
      expect(indicator.context.createdByRef).toBe('identity--f690c992-8e7d-4b9a-9303-3312616c0220');
    }
    expect(parsed.skipped.map((s) => s.reason)).toEqual([
      'no indicator in identity',
      'no indicator in malware',
      'no indicator in course-of-action',
      'relationship: no indicator of its own (indicates relationships become indicator names)',
      'relationship: no indicator of its own (indicates relationships become indicator names)',
      'relationship: no indicator of its own (indicates relationships become indicator names)',
    ]);
  });

  it('takes the apt1 report apart: CIDRs, domains and MD5s mined, x509 issuer/serial patterns skipped', () => {
    // Act
    const parsed = parseFixture('stix21/oasis-docs--apt1.json');

    // Assess
    expect(values(parsed)).toEqual([
      'cidr 223.166.0.0/15',
      'cidr 58.246.0.0/15',
      'cidr 112.64.0.0/15',
      'cidr 139.226.0.0/15',
      'domain hugesoft.org',
      'domain arrowservice.net',
      'domain msnhome.org',
      'md5 001dd76872d80801692ff942308c64e6',
      'md5 002325a0a67fded0381b5648d7fe9b8e',
      'md5 00dbb9e1c09dbdafb360f3163ba5a3de',
    ]);
    const patternSkips = parsed.skipped.filter((s) => s.reason.startsWith('pattern has no'));
    expect(patternSkips.map((s) => s.objectId)).toEqual([
      'indicator--b3b6b540-d838-41e2-853b-005056c00008',
      'indicator--b3b7035e-d838-41e2-8d38-005056c00008',
    ]);
  });

  it('skips MATCHES-only e-mail patterns with a reason rather than mining regexes', () => {
    // Act
    const parsed = parseFixture('stix21/oasis-schemas--malicious-email-indicator-with-attachment.json');

    // Assess
    const reasons = parsed.skipped.filter((s) => s.objectId?.startsWith('indicator--')).map((s) => s.reason);
    expect(reasons).toEqual([
      'pattern has no =, IN or ISSUBSET comparison on a supported object path',
      'pattern has no =, IN or ISSUBSET comparison on a supported object path',
    ]);
  });

  it('takes the TLP from a TLP marking defined in the bundle next to a statement marking', () => {
    // Act
    const [indicator] = parseFixture('stix21/oasis-docs--using-marking-definitions.json').indicators;

    // Assess
    expect(indicator).toMatchObject({ type: 'ipv4', value: '10.0.0.0', tlp: 'amber' });
    expect(indicator?.context.markingRefs).toEqual([
      'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
      'marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f',
    ]);
  });

  it('turns 2.1 SCOs into observables dated by the observed-data that references them', () => {
    // Act
    const parsed = parseFixture('stix21/oasis-docs--sighting-of-observed-data.json');

    // Assess
    expect(values(parsed)).toEqual([
      'md5 1717b7fff97d37a1e1a0029d83492de1',
      'sha1 c79a326f8411e9488bdc3779753e1e3489aaedea',
      'filename resume.pdf',
      'registry-key HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\WSALG2',
    ]);
    expect(parsed.indicators[0]).toMatchObject({
      firstSeen: '2017-02-27T21:37:11.213Z',
      lastSeen: '2017-02-27T21:37:11.213Z',
      context: {
        observable: true,
        count: 1,
        observedData: ['observed-data--cf8eaa41-6f4c-482e-89b9-9cd2d6a83cb1'],
        property: 'hashes.MD5',
      },
    });
    expect(parsed.indicators[3]?.lastSeen).toBe('2017-02-27T21:37:11.214Z');
  });

  it('turns SCOs no observed-data references into undated observables', () => {
    // Act
    const parsed = parseFixture('stix21/oasis-schemas--infrastructure.json');

    // Assess
    expect(values(parsed)).toEqual(['ipv4 198.51.100.3', 'domain example.com']);
    expect(parsed.indicators[1]?.firstSeen).toBeUndefined();
    expect(parsed.indicators[1]?.context.warnings).toEqual(['reserved-name']);
  });

  it('turns the objects embedded in 2.0 observed-data into observables', () => {
    // Act
    const parsed = parseFixture('stix20/pymisp--stix2.json');

    // Assess
    expect(parsed.indicators).toHaveLength(1);
    expect(parsed.indicators[0]).toMatchObject({
      type: 'ipv4',
      value: '8.8.8.8',
      firstSeen: '2021-08-24T10:53:13Z',
      lastSeen: '2021-08-24T10:53:13Z',
      source: {
        objectId: 'observed-data--0853d51f-0fe7-4d35-b3cb-b96bdbc1f0ee',
        rawRef: '/objects/2/objects/0',
      },
      context: { observable: true, count: 1, specVersion: '2.0' },
    });
  });

  it.each([
    [
      'stix20/mitre-attack--x-mitre-tactic--2558fd61.json',
      'custom object type x-mitre-tactic: kept as is, no indicator',
    ],
    ['stix20/mitre-attack--intrusion-set--68ba94ab.json', 'no indicator in intrusion-set'],
    ['stix21/pystix2--directory--572827aa.json', 'no indicator in directory'],
    [
      'stix21/validator--tlp-amber.json',
      'marking-definition: no indicator of its own (applied to the objects that reference it)',
    ],
    ['stix20/pystix2--course-of-action--d9727aee.json', 'no indicator in course-of-action'],
  ])('%s is counted as skipped: %s', (name, reason) => {
    // Act
    const parsed = parseFixture(name);

    // Assess
    expect(parsed.skipped.map((s) => s.reason)).toEqual([reason]);
  });

  it.each([
    ['stix-invalid/validator--invalid_identity.json', 'identity: missing required property "modified"'],
    [
      'stix-invalid/validator--invalid_timestamp.json',
      'identity: "modified" (2015-08-08T15:50:10.983Z) is earlier than "created" (2016-08-08T15:50:10.983Z)',
    ],
    ['stix-invalid/validator-2.0--invalid_identity.json', 'identity: missing required property "modified"'],
  ])('quarantines %s: %s', (name, reason) => {
    // Act
    const parsed = parseFixture(name);

    // Assess
    expect(parsed.quarantined).toEqual([
      expect.objectContaining({
        reason,
        objectId: 'identity--8c6af861-7b20-41ef-9b59-6344fd872a8f',
        rawRef: '/0',
      }),
    ]);
  });

  it.each([
    ['stix-invalid/validator--invalid_braces.json', /^not valid JSON at line 1, column 1: unexpected "<"/],
    [
      'stix-invalid/validator--invalid_comma.json',
      /^not valid JSON at line 9, column 1: unexpected "}" where a "key" was expected \(a trailing comma before it is not JSON\)$/,
    ],
  ])('refuses %s as a whole with the JSON error', (name, message) => {
    // Act
    const attempt = () => parseFixture(name);

    // Assess
    expect(attempt).toThrow(DocumentError);
    expect(attempt).toThrow(message);
  });

  it('detects every readable STIX fixture as STIX with --format auto', () => {
    // Prepare
    const names = ['stix20', 'stix21', 'stix-invalid'].flatMap((dir) =>
      readdirSync(new URL(`${dir}/`, FIXTURES)).map((f) => `${dir}/${f}`),
    );

    // Act
    const formats = names.map((name) => [name, detectFormat(readFileSync(new URL(name, FIXTURES)))]);

    // Assess
    const expected = names.map((name) => [name, name.endsWith('invalid_braces.json') ? 'text' : 'stix']);
    expect(formats).toEqual(expected);
  });
});
