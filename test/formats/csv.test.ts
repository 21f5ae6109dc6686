import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FeedConfigInput, FeedConfigSchema } from '../../functions/domain/feed-config.ts';
import type { Indicator } from '../../functions/domain/indicator.ts';
import { csvParser, parseCsv, readCsvRows } from '../../functions/formats/csv.ts';
import { detectFormat, parseDocument } from '../../functions/formats/index.ts';
import { DocumentError, type ParseEvent, type ParseOptions } from '../../functions/formats/types.ts';

const FIXTURES = new URL('../fixtures/feeds/csv/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const base: ParseOptions = { feedId: 'csv-feed', receivedAt: '2026-05-15T09:00:00Z' };
const withFeed = (feed: Omit<FeedConfigInput, 'id' | 'format'>): ParseOptions => ({
  ...base,
  feedConfig: FeedConfigSchema.parse({ id: 'csv-feed', format: 'csv', ...feed }),
});

interface Outcome {
  indicators: Indicator[];
  quarantined: { reason: string; rawRef?: string | undefined; value?: string | undefined }[];
  skipped: { reason: string; rawRef?: string | undefined }[];
}

function outcome(events: Iterable<ParseEvent>): Outcome {
  const out: Outcome = { indicators: [], quarantined: [], skipped: [] };
  for (const e of events) {
    if (e.kind === 'indicator') out.indicators.push(e.indicator);
    else if (e.kind === 'quarantine') out.quarantined.push(e.record);
    else out.skipped.push(e.record);
  }
  return out;
}

const parseFixture = (name: string, options: ParseOptions = base) =>
  outcome(csvParser.parse(fixture(name), options));
const parseText = (text: string, options: ParseOptions = base) =>
  outcome(csvParser.parse(new TextEncoder().encode(text), options));
const pairs = (o: Outcome) => o.indicators.map((i) => [i.type, i.value]);

describe('csvParser presets', () => {
  it('reads the real Feodo Tracker blocklist (recognized from its header) with names, dates and port', () => {
    // Act
    const result = parseFixture('abusech-feodotracker-ipblocklist-2024.csv');
    // Assess
    expect(result.indicators).toHaveLength(28);
    expect(result.quarantined).toEqual([]);
    const first = result.indicators[0];
    expect(first).toMatchObject({
      type: 'ipv4',
      value: '192.9.135.73',
      names: ['Pikabot'],
      firstSeen: '2023-05-23T17:51:44.000Z',
      lastSeen: '2024-04-01T00:00:00.000Z',
      context: { dst_port: '1194', c2_status: 'online' },
      source: { feedId: 'csv-feed', format: 'csv', rawRef: 'line:10' },
    });
    expect(result.indicators.at(-1)?.value).toBe('172.233.221.61');
  });

  it('takes only the url column of URLhaus, never urlhaus_link, and quarantines bad rows by line', () => {
    // Act
    const result = parseFixture('urlhaus-recent.csv', { ...base, preset: 'urlhaus' });
    // Assess
    expect(pairs(result)).toEqual([
      ['url', 'http://123.5.173.71:34469/i'],
      ['url', 'https://bafybeih3x.ipfs.dweb.link/invoice.html#victim@corp.example'],
      ['url', 'http://payload.evil-download.com/AgentTesla.exe'],
      ['url', 'http://182.121.41.19:52245/bin.sh'],
    ]);
    expect(result.indicators.map((i) => i.value).some((v) => v.includes('urlhaus.abuse.ch/url/'))).toBe(
      false,
    );
    expect(result.indicators[0]).toMatchObject({
      labels: ['malware_download', '32-bit', 'elf', 'mips', 'Mozi'],
      firstSeen: '2024-04-04T07:10:08.000Z',
      source: { objectId: '2786904', rawRef: 'line:10' },
      context: { url_status: 'online', reporter: 'geenensp' },
    });
    expect(result.quarantined).toEqual([
      expect.objectContaining({ rawRef: 'line:13', value: 'not a url at all' }),
      expect.objectContaining({ rawRef: 'line:15', reason: 'no value in column url' }),
    ]);
  });

  it('maps ThreatFox ioc_type to types, keeps the port of ip:port, and reads ", " separated quoted fields', () => {
    // Act
    const result = parseFixture('threatfox-recent.csv', { ...base, preset: 'threatfox' });
    // Assess
    expect(pairs(result)).toEqual([
      ['ipv4', '91.92.241.115'],
      ['domain', 'update-check.kozow.com'],
      ['url', 'https://cdn-static.example-files.net/ldr.php'],
      ['md5', '3b4c0e6f2a1d9e8b7c6a5f4e3d2c1b0a'],
      ['sha256', 'a3f5c0e9b1d24e7f8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f'],
    ]);
    expect(result.indicators[0]).toMatchObject({
      names: ['Remcos'],
      confidence: 75,
      labels: ['botnet_cc', 'RAT', 'RemcosRAT'],
      context: { port: 2404, fk_malware: 'win.remcos' },
      source: { objectId: '1253545' },
    });
    expect(result.indicators[2]?.names).toEqual([]);
    expect(result.quarantined.map((q) => [q.rawRef, q.reason])).toEqual([
      ['line:15', 'expected 32 hex digits for md5, found "12345"'],
      ['line:16', "unknown indicator type 'jarm_hash' in column ioc_type"],
    ]);
  });

  it.each([
    [
      'sslbl-sslblacklist.csv',
      [
        ['sha1', '2f2d5e4c3b8a91f07e6d5c4b3a29180f7e6d5c4b', ['AsyncRAT']],
        ['sha1', '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807', ['Dridex']],
        ['sha1', '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567', ['QuasarRAT']],
      ],
      1,
    ],
    [
      'sslbl-ja3-fingerprints.csv',
      [
        ['ja3', 'b386946a5a44d1ddcc843bc75336dfce', ['Dridex']],
        ['ja3', '8991a387e4cc841740f25d6f5139f92d', ['Adwind']],
        ['ja3', '1aa7bf8b97e540ca5edd75f7b8384bfa', ['TrickBot']],
      ],
      0,
    ],
  ])('reads SSLBL %s with the listing reason as the malware name', (name, expected, quarantined) => {
    // Act
    const result = parseFixture(name, { ...base, preset: 'sslbl' });
    // Assess
    expect(result.indicators.map((i) => [i.type, i.value, i.names])).toEqual(expected);
    expect(result.quarantined).toHaveLength(quarantined);
    expect(result.indicators[0]?.firstSeen).toMatch(/^20\d\d-/);
  });

  it('reads Spamhaus DROP netblocks with the SBL reference as context and quarantines a bad one', () => {
    // Act
    const result = parseFixture('spamhaus-drop.txt', { ...base, preset: 'plain' });
    // Assess
    expect(pairs(result)).toEqual([
      ['cidr', '1.10.16.0/20'],
      ['cidr', '1.19.0.0/16'],
      ['cidr', '2.56.192.0/22'],
      ['cidr', '2.59.200.0/22'],
      ['cidr', '5.134.128.0/19'],
    ]);
    expect(result.indicators[0]?.context).toEqual({ comment: 'SBL256894' });
    expect(result.quarantined).toEqual([
      expect.objectContaining({ rawRef: 'line:10', value: '999.1.0.0/16' }),
    ]);
  });

  it('reads the DShield domain list, skipping its Site header row with a reason', () => {
    // Act
    const result = parseFixture('dshield-suspiciousdomains.txt', { ...base, preset: 'plain' });
    // Assess
    expect(pairs(result)).toEqual([
      ['domain', '0-0-0-0-0-0.site'],
      ['domain', '001.example-bad.ru'],
      ['domain', 'secure-login.example-paypal.com'],
      ['domain', 'updates.windows-defender.example.net'],
    ]);
    expect(result.skipped).toEqual([{ reason: "header row 'Site'", rawRef: 'line:14' }]);
  });

  it('reads the OpenPhish URL list, refanging defanged URLs and quarantining a non-URL', () => {
    // Act
    const result = parseFixture('openphish-feed.txt', { ...base, preset: 'plain' });
    // Assess
    expect(result.indicators).toHaveLength(5);
    expect(result.indicators.every((i) => i.type === 'url')).toBe(true);
    expect(result.indicators[3]?.value).toBe('https://dhl-tracking.example-parcel.com/track');
    expect(result.quarantined).toEqual([
      expect.objectContaining({ rawRef: 'line:6', reason: "cannot tell the indicator type of 'not-a-url'" }),
    ]);
  });

  it('maps a header that names types (PyMISP hash CSV with spaces after commas) without any mapping', () => {
    // Act
    const result = parseFixture('pymisp-valid_fieldnames.csv');
    // Assess
    expect(result.indicators).toHaveLength(9);
    expect(pairs(result).slice(0, 3)).toEqual([
      ['md5', '644087ccca16d2a728ef7685a4106f09'],
      ['sha1', 'eabd6974ac71efd72d9e0688d5a6131f336d169c'],
      ['sha256', '385e31c97e3a07bbb81513f0cd0979e64e6b014943902efd002f57b21eadd41e'],
    ]);
  });

  it('applies feed defaults and a csv override on top of a preset', () => {
    // Prepare
    const options = withFeed({
      preset: 'urlhaus',
      csv: { labelsColumn: 'threat' },
      defaults: { confidence: 80, tlp: 'clear', labels: ['urlhaus'] },
    });
    // Act
    const result = parseFixture('urlhaus-recent.csv', options);
    // Assess
    expect(result.indicators[0]).toMatchObject({
      confidence: 80,
      tlp: 'clear',
      labels: ['urlhaus', 'malware_download'],
    });
  });

  it('skips types the feed filter excludes, counting them', () => {
    // Act
    const result = parseFixture(
      'threatfox-recent.csv',
      withFeed({ preset: 'threatfox', filters: { types: ['url'] } }),
    );
    // Assess
    expect(pairs(result)).toEqual([['url', 'https://cdn-static.example-files.net/ldr.php']]);
    // The filter applies before normalization, so the bad md5 is skipped too; the unknown type stays quarantined.
    expect(result.skipped).toHaveLength(5);
    expect(result.quarantined).toHaveLength(1);
    expect(result.skipped[0]?.reason).toBe("type ipv4 is not in the feed's type filter");
  });
});

describe('csvParser mappings', () => {
  it('reads index columns without a header, a custom delimiter and multi-value cells', () => {
    // Prepare
    const options = withFeed({
      csv: {
        header: false,
        delimiter: ';',
        columns: [{ column: 0, type: 'ipv4' }],
        multiValueSeparator: '|',
        namesColumn: 1,
        contextColumns: [2],
      },
    });
    // Act
    const result = parseText('198.51.100.7|198.51.100.8;Emotet;443\n203.0.113.9;QakBot\n', options);
    // Assess
    expect(result.indicators.map((i) => [i.value, i.names, i.source.rawRef, i.context])).toEqual([
      ['198.51.100.7', ['Emotet'], 'line:1', { column2: '443' }],
      ['198.51.100.8', ['Emotet'], 'line:1', { column2: '443' }],
      ['203.0.113.9', ['QakBot'], 'line:2', {}],
    ]);
  });

  it('reads a type column and a value column through a type map', () => {
    // Prepare
    const options = withFeed({
      csv: { typeColumn: 'kind', valueColumn: 'indicator', typeMap: { IP: 'ipv4', FQDN: 'domain' } },
    });
    // Act
    const result = parseText(
      'kind,indicator\nIP,198.51.100.7\nFQDN,evil.example.com\nsha256,\nBLOB,x\n',
      options,
    );
    // Assess
    expect(pairs(result)).toEqual([
      ['ipv4', '198.51.100.7'],
      ['domain', 'evil.example.com'],
    ]);
    expect(result.quarantined.map((q) => [q.rawRef, q.reason])).toEqual([
      ['line:4', 'empty value in column indicator'],
      ['line:5', "unknown indicator type 'BLOB' in column kind"],
    ]);
  });

  it('detects each value type in an auto column', () => {
    // Prepare
    const options = withFeed({ csv: { columns: [{ column: 'ioc', type: 'auto' }] } });
    // Act
    const result = parseText('ioc\nevil[.]example.com\n198.51.100.7\nCVE-2021-44228\nhello\n', options);
    // Assess
    expect(pairs(result)).toEqual([
      ['domain', 'evil.example.com'],
      ['ipv4', '198.51.100.7'],
      ['cve', 'CVE-2021-44228'],
    ]);
    expect(result.quarantined[0]?.reason).toBe("cannot tell the indicator type of 'hello' in column ioc");
  });

  it('survives a BOM, CRLF, ragged rows and a malformed quote, quarantining that row by line', () => {
    // Prepare
    const text =
      '\uFEFFurl,extra\r\nhttp://a.example.com/1\r\n"http://b.example.com/2" junk,x\r\nhttp://c.example.com/3,1,2,3\r\n';
    // Act
    const result = parseText(text);
    // Assess
    expect(pairs(result)).toEqual([
      ['url', 'http://a.example.com/1'],
      ['url', 'http://c.example.com/3'],
    ]);
    expect(result.indicators[1]?.source.rawRef).toBe('line:4');
    expect(result.quarantined).toEqual([
      expect.objectContaining({ rawRef: 'line:3', reason: expect.stringMatching(/^malformed CSV row/) }),
    ]);
  });

  it('keeps an unreadable date as context instead of dropping the row', () => {
    // Prepare
    const options = withFeed({ csv: { columns: [{ column: 'ip', type: 'ipv4' }], firstSeenColumn: 'seen' } });
    // Act
    const result = parseText('ip,seen\n198.51.100.7,yesterday\n', options);
    // Assess
    expect(result.indicators[0]?.firstSeen).toBeUndefined();
    expect(result.indicators[0]?.context).toEqual({ unreadableFirstSeen: 'yesterday' });
  });

  it.each([
    ['an unknown preset', 'ip\n1.2.3.4\n', { ...base, preset: 'nope' }, "unknown CSV preset 'nope'"],
    ['no mapping and no typed header', 'a,b\n1,2\n', base, 'no column mapping for this CSV'],
    [
      'mapped columns missing from the header',
      'a,b\n1,2\n',
      withFeed({ csv: { columns: [{ column: 'ip', type: 'ipv4' }] } }),
      'none of the mapped columns (ip) is in the CSV header: a, b',
    ],
    [
      'a preset whose comment header is absent',
      'x,y\n',
      { ...base, preset: 'urlhaus' },
      'expected the CSV header',
    ],
    [
      'a named column without a header',
      '1,2\n',
      withFeed({ csv: { header: false, columns: [{ column: 'ip', type: 'ipv4' }] } }),
      "column 'ip' is named but the CSV has no header",
    ],
  ])('throws a DocumentError for %s', (_name, text, options, message) => {
    // Act
    const act = () => parseCsv(text, options);
    // Assess
    expect(act).toThrow(DocumentError);
    expect(act).toThrow(message);
  });

  it('gives up with a DocumentError when most rows are malformed', () => {
    // Prepare
    const text = `url\n${'"a" b,c\n'.repeat(150)}`;
    // Act
    const act = () => parseCsv(text, base);
    // Assess
    expect(act).toThrow('more than 100 malformed CSV rows');
  });
});

describe('readCsvRows', () => {
  it('numbers rows by the line they end on, across blank lines and multi-line quoted cells', () => {
    // Act
    const rows = readCsvRows('a,b\n\n"multi\nline",c\nd,e\n', { delimiter: ',', quote: '"' });
    // Assess
    expect(rows).toEqual([
      { kind: 'row', line: 1, cells: ['a', 'b'] },
      { kind: 'row', line: 4, cells: ['multi\nline', 'c'] },
      { kind: 'row', line: 5, cells: ['d', 'e'] },
    ]);
  });

  it('never throws anything but a DocumentError on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300 }),
        fc.constantFrom(',', ';', '\t', '|'),
        fc.constantFrom('"', "'", ''),
        (text, delimiter, quote) => {
          try {
            readCsvRows(text, { delimiter, quote });
          } catch (error) {
            expect(error).toBeInstanceOf(DocumentError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('parses arbitrary documents with any preset into events or a DocumentError, never another error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .array(fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.ipV4(), fc.webUrl()), { maxLength: 6 }))
            .map((rows) => rows.map((r) => r.join(',')).join('\n')),
        ),
        fc.constantFrom(undefined, 'urlhaus', 'feodotracker', 'threatfox', 'sslbl', 'plain'),
        (text, preset) => {
          try {
            const events = [...parseCsv(`url\n${text}`, { ...base, preset })];
            expect(events.every((e) => ['indicator', 'quarantine', 'skip'].includes(e.kind))).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(DocumentError);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('format detection of real list feeds (parse --format auto, push, text/plain pushes)', () => {
  const TEXT_FIXTURES = new URL('../fixtures/feeds/text/', import.meta.url);

  it.each([
    ['abusech-feodotracker-ipblocklist-2024.csv', 'csv'],
    ['urlhaus-recent.csv', 'csv'],
    ['threatfox-recent.csv', 'csv'],
    ['sslbl-sslblacklist.csv', 'csv'],
    ['sslbl-ja3-fingerprints.csv', 'csv'],
    ['pymisp-valid_fieldnames.csv', 'csv'],
    ['spamhaus-drop.txt', 'csv'],
    ['dshield-suspiciousdomains.txt', 'csv'],
    // A bare URL list has no banner or header: free text reads it as well, and so it stays.
    ['openphish-feed.txt', 'text'],
  ])('reads %s as %s', (name, format) => {
    expect(detectFormat(fixture(name))).toBe(format);
  });

  it.each(['report-ir-2026-0517.txt', 'eset-interception-README.adoc'])(
    'keeps the report %s as text (prose with commas is not CSV)',
    (name) => {
      expect(detectFormat(readFileSync(new URL(name, TEXT_FIXTURES)))).toBe('text');
    },
  );

  it.each([
    'abusech-feodotracker-ipblocklist-2024.csv',
    'spamhaus-drop.txt',
    'dshield-suspiciousdomains.txt',
  ])('emits nothing from the comment banner of %s when read with --format auto', (name) => {
    // Act
    const { events } = parseDocument(fixture(name), 'auto', base);
    const values = outcome(events).indicators.map((i) => i.value);
    // Assess
    expect(values.some((v) => /abuse\.ch|spamhaus\.org|sans\.edu|blocklist/i.test(v))).toBe(false);
    expect(values.length).toBeGreaterThan(0);
  });
});
