import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeedConfigSchema } from '../../functions/domain/feed-config.ts';
import { normalize } from '../../functions/domain/normalize/index.ts';
import { extractIndicators, textEvents, textParser } from '../../functions/formats/text.ts';
import type { ParseEvent, ParseOptions } from '../../functions/formats/types.ts';

const FIXTURES = new URL('../fixtures/feeds/text/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const options: ParseOptions = { feedId: 'reports', receivedAt: '2026-05-15T09:00:00Z' };

/** The (type, value) pairs found in `text`, in order. */
const found = (text: string) => extractIndicators(text).hits.map((h) => [h.type, h.value]);
const indicatorsOf = (events: Iterable<ParseEvent>) =>
  [...events].flatMap((e) => (e.kind === 'indicator' ? [e.indicator] : []));

describe('extractIndicators', () => {
  it.each([
    [
      'C2 at hxxp://evil[.]com/x and 198.51.100[.]7',
      [
        ['url', 'http://evil.com/x'],
        ['ipv4', '198.51.100.7'],
      ],
    ],
    ['beacon to hXXps[://]cdn[.]evil[.]net/a?b=1', [['url', 'https://cdn.evil.net/a?b=1']]],
    ['tasking via meow://paste(.)evil{.}org/raw', [['url', 'http://paste.evil.org/raw']]],
    ['fetched hxxp[:]//evil[dot]ru/p', [['url', 'http://evil.ru/p']]],
    [
      'fetched hxxp[//]evil[.]ru/p and hxxps:[//]evil[.]ru/q',
      [
        ['url', 'http://evil.ru/p'],
        ['url', 'https://evil.ru/q'],
      ],
    ],
    ['ftp at fxp://files[.]evil[.]com/pub', [['url', 'ftp://files.evil.com/pub']]],
    ['mail from phish[at]evil[.]com', [['email', 'phish@evil.com']]],
    ['mail from phish(at)evil(dot)com', [['email', 'phish@evil.com']]],
    ['reply to phish[@]evil[.]com', [['email', 'phish@evil.com']]],
    ['host evil[ . ]com', [['domain', 'evil.com']]],
    ['host cdn{.}evil{.}co{.}uk', [['domain', 'cdn.evil.co.uk']]],
    ['IPv6 host 2001:db8:0:0:1::1 seen', [['ipv6', '2001:db8::1:0:0:1']]],
    ['network 203.0.113.77/24 blocked', [['cidr', '203.0.113.0/24']]],
    [
      'exploited CVE-2021-44228 and cve-2023-4863',
      [
        ['cve', 'CVE-2021-44228'],
        ['cve', 'CVE-2023-4863'],
      ],
    ],
    ['announced by AS64496', [['asn', 'AS64496']]],
    [
      'key HKLM\\Software\\Microsoft\\Run\\Upd',
      [['registry-key', 'HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Run\\Upd']],
    ],
    ['path C:\\ProgramData\\x\\run.exe', [['filename', 'C:\\ProgramData\\x\\run.exe']]],
    [
      'ssdeep 96:s4Ud1Lj96tHHlZDrwciQmA:s4ULT6Z3ciQmA here',
      [['ssdeep', '96:s4Ud1Lj96tHHlZDrwciQmA:s4ULT6Z3ciQmA']],
    ],
    ['https://[2001:db8::1]:8443/x', [['url', 'https://[2001:db8::1]:8443/x']]],
    [
      'IDN host bücher[.]de and пример.рф',
      [
        ['domain', 'xn--bcher-kva.de'],
        ['domain', 'xn--e1afmkfd.xn--p1ai'],
      ],
    ],
    ['homoglyph \u0430pple.com (Cyrillic a)', [['domain', 'xn--pple-43d.com']]],
    ['link https://bücher.de/x', [['url', 'https://xn--bcher-kva.de/x']]],
    ['mail a[at]пример[.]рф', [['email', 'a@xn--e1afmkfd.xn--p1ai']]],
  ])('finds the indicators in %j', (text, expected) => {
    expect(found(text)).toEqual(expected);
  });

  it.each([
    ['md5', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['sha1', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['sha512', 'ab'.repeat(64)],
  ])('tells a %s from its length', (type, hash) => {
    expect(found(`hash: ${hash.toUpperCase()}.`)).toEqual([[type, hash]]);
  });

  describe('reports nothing for prose that only looks like an indicator', () => {
    it.each([
      ['version numbers', 'runs agent 10.2.1 and console 4.2'],
      ['a version written as a dotted quad', 'template version 1.2.3.4 and v1.2.3.4'],
      ['a build number written as a dotted quad', 'build 10.0.19.4, release 2.3.4.5, firmware 1.0.0.3'],
      ['a version after a colon', 'Version: 1.2.3.4 and Build:10.0.0.1'],
      ['five numbers', 'OID 1.3.6.1.4'],
      ['five defanged numbers', 'OID 1[.]3[.]6[.]1[.]4'],
      ['times and ratios', 'at 07:42:10, ratio 3:2, 10:20'],
      ['a MAC address', 'aa:bb:cc:dd:ee:ff'],
      ['a file name with a non-executable extension', 'settings live in config.json'],
      ['README.md and setup.py', 'see README.md and setup.py and invoice.zip'],
      ['a sentence that ends', 'It ended.Then it restarted.'],
      ['hex that is no hash length', `id ${'a'.repeat(48)}`],
      ['hex inside a longer word', `x${'a'.repeat(32)}y`],
      ['an AsciiDoc title', 'Win32/Interception.A'],
      ['e.g. and i.e.', 'e.g. this, i.e. that'],
      ['German abbreviations and a missing space', 'z.B. und d.h. und der Server läuft.Dann'],
    ])('%s', (_why, text) => {
      expect(extractIndicators(text)).toEqual({ hits: [], rejected: [] });
    });
  });

  it('reads loader.dll and stage2.exe as file names, not domains', () => {
    expect(found('dropped loader.dll and stage2.exe')).toEqual([
      ['filename', 'loader.dll'],
      ['filename', 'stage2.exe'],
    ]);
  });

  it('still reads a defanged or longer name with a file-extension suffix as a domain', () => {
    expect(found('hosts evil[.]zip and cdn.evil.zip')).toEqual([
      ['domain', 'evil.zip'],
      ['domain', 'cdn.evil.zip'],
    ]);
  });

  it.each([
    ['http://not-an-ioc', 'URL host: expected a domain name with at least two labels, found "not-an-ioc"'],
    ['http://wiki/page', 'URL host: expected a domain name with at least two labels, found "wiki"'],
    ['hxxp://intranet[.]corp/x', 'URL host: "intranet.corp" has no registrable public suffix'],
  ])('rejects the intra-document link %j with a reason instead of reporting it', (link, reason) => {
    // Act
    const result = extractIndicators(`see ${link}.`);

    // Assess
    expect(result.hits).toEqual([]);
    expect(result.rejected).toEqual([{ type: 'url', raw: link, offset: 4, reason }]);
  });

  it.each([
    ['256.1.1.1', 'ipv4'],
    ['198.51.100.0/33', 'cidr'],
  ])('rejects the out-of-range address %j', (raw, type) => {
    expect(extractIndicators(`addr ${raw} end`).rejected).toEqual([
      expect.objectContaining({ type, raw, offset: 5 }),
    ]);
  });

  it('quarantines a non-ASCII mailbox whole rather than reporting its ASCII tail', () => {
    expect(extractIndicators('an jürgen@bücher.de')).toEqual({
      hits: [],
      rejected: [
        { type: 'email', raw: 'jürgen@bücher.de', offset: 3, reason: 'invalid mailbox name "jürgen"' },
      ],
    });
  });

  it('does not report a name without a public suffix as a rejected domain', () => {
    expect(extractIndicators('the file notes.txt and host intranet.corp')).toEqual({
      hits: [],
      rejected: [],
    });
  });

  it.each([
    ['sentence end', 'Go to hxxp://evil[.]com/a.', 'hxxp://evil[.]com/a'],
    ['comma', 'Go to hxxp://evil[.]com/a, then', 'hxxp://evil[.]com/a'],
    ['ellipsis', 'Go to https://evil.com/a...', 'https://evil.com/a'],
    ['parentheses', '(hxxps[://]evil[.]com/owa/?t=1)', 'hxxps[://]evil[.]com/owa/?t=1'],
    ['parentheses and period', '(see https://evil.com/x).', 'https://evil.com/x'],
    [
      'balanced parentheses kept',
      'at https://evil.com/wiki/Foo_(bar) now',
      'https://evil.com/wiki/Foo_(bar)',
    ],
    ['quotes', '"https://evil.com/q"', 'https://evil.com/q'],
    ['angle brackets', '<https://evil.com/q>', 'https://evil.com/q'],
    ['Markdown link', '[here](https://evil.com/q)', 'https://evil.com/q'],
    ['AsciiDoc link', 'https://evil.com/report.pdf[the report]', 'https://evil.com/report.pdf'],
    ['AsciiDoc link, defanged', 'hxxps://evil[.]com/r[the report]', 'hxxps://evil[.]com/r'],
    ['semicolon', 'https://evil.com/x; then', 'https://evil.com/x'],
  ])('ends a URL before trailing punctuation (%s)', (_why, text, raw) => {
    // Act
    const [hit, ...rest] = extractIndicators(text).hits;

    // Assess
    expect(rest).toEqual([]);
    expect(hit?.raw).toBe(raw);
    expect(text.slice(hit?.offset, (hit?.offset ?? 0) + (hit?.length ?? 0))).toBe(raw);
  });

  it.each([
    ['Second C2: 198.51.100.7.', '198.51.100.7'],
    ['C2s (198.51.100.7, 198.51.100.8)', '198.51.100.7'],
    ['[198.51.100.7]', '198.51.100.7'],
    ['C2 198.51.100[.]7; later', '198.51.100[.]7'],
    ['connects to 198.51.100.7:8080', '198.51.100.7'],
  ])('ends an IP address before punctuation in %j', (text, raw) => {
    expect(extractIndicators(text).hits[0]).toMatchObject({ type: 'ipv4', raw });
  });

  it('reports each hit with the offset and length of its text as written', () => {
    // Prepare
    const text = 'Ü C2 hxxp://evil[.]com/x, mail a[at]evil[.]com; 😀 hash D41D8CD98F00B204E9800998ECF8427E';

    // Act
    const { hits } = extractIndicators(text);

    // Assess
    expect(hits.map((h) => [h.raw, text.slice(h.offset, h.offset + h.length)])).toEqual([
      ['hxxp://evil[.]com/x', 'hxxp://evil[.]com/x'],
      ['a[at]evil[.]com', 'a[at]evil[.]com'],
      ['D41D8CD98F00B204E9800998ECF8427E', 'D41D8CD98F00B204E9800998ECF8427E'],
    ]);
    // Offsets count UTF-16 code units, as String.prototype.slice does: the emoji takes two.
    expect(hits.map((h) => h.offset)).toEqual([5, 31, 56]);
  });

  it('reports a URL once, not its host or an address inside it as well', () => {
    expect(found('get http://198.51.100.7/a and https://evil.com/?to=a@evil.com')).toEqual([
      ['url', 'http://198.51.100.7/a'],
      ['url', 'https://evil.com/?to=a@evil.com'],
    ]);
  });

  it('never throws, and every hit points at its text and holds a canonical value', () => {
    const pieces = fc.constantFrom(
      ' ',
      '.',
      '[.]',
      '(dot)',
      'hxxp://',
      'https://',
      'evil',
      'com',
      '198.51.100.7',
      '::',
      '2001:db8',
      '@',
      '[at]',
      'CVE-2021-44228',
      'AS13335',
      'd41d8cd98f00b204e9800998ecf8427e',
      'C:\\x\\',
      '.exe',
      '\n',
      ')',
      '(',
      '[',
      ']',
      'ü',
      '/24',
      'HKLM\\',
      '96:abcdef:gh',
      'version ',
      '10.2.1',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(pieces, { maxLength: 30 }).map((p) => p.join('')),
          fc.string({ unit: 'binary', maxLength: 200 }),
        ),
        (text) => {
          // Act
          const { hits, rejected } = extractIndicators(text);

          // Assess
          let end = 0;
          for (const hit of hits) {
            expect(text.slice(hit.offset, hit.offset + hit.length)).toBe(hit.raw);
            expect(hit.offset).toBeGreaterThanOrEqual(end);
            end = hit.offset + hit.length;
            expect(normalize(hit.type, hit.value)).toMatchObject({ ok: true, value: hit.value });
          }
          for (const r of rejected) expect(text.slice(r.offset, r.offset + r.raw.length)).toBe(r.raw);
        },
      ),
    );
  });
});

describe('extractIndicators on hostile input', () => {
  // Each of these took seconds to minutes before the scan was made linear (a regex restarted at every label
  // of a defanged run; trailing brackets were recounted per character).
  it.each([
    ['a long defanged run without a suffix', 'a[.]'.repeat(25_000)],
    ['a long (.) run', 'a(.)'.repeat(25_000)],
    ['a long [dot] run', 'ab[dot]'.repeat(15_000)],
    ['a long defanged IPv4-like run', '1[.]'.repeat(25_000)],
    ['thousands of dots after a URL', `http://evil.com/${'.'.repeat(100_000)}x`],
    [
      'thousands of unbalanced brackets in a URL',
      `http://evil.com/${'('.repeat(20_000)}${')'.repeat(20_000)}`,
    ],
    ['an e-mail domain that never ends', `x@${'a[.]'.repeat(25_000)}`],
    ['a long non-ASCII defanged run', 'ä[.]'.repeat(25_000)],
    ['a long non-ASCII word before a suffix', `${'ä'.repeat(100_000)}.com`],
  ])('finishes on %s, with every hit inside the input', (_why, text) => {
    // Act: no clock here (a busy CI machine makes milliseconds meaningless). Linear work takes milliseconds;
    // the quadratic scans these inputs once caught took minutes, so the test timeout is the backstop.
    const { hits } = extractIndicators(text);

    // Assess
    for (const hit of hits) expect(text.slice(hit.offset, hit.offset + hit.raw.length)).toBe(hit.raw);
  });
});

describe('textEvents', () => {
  it('emits one indicator per distinct (type, value), keeping the first offset', () => {
    // Act
    const events = [...textEvents('evil[.]com then evil.com then EVIL.COM', options, { format: 'text' })];

    // Assess
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: 'indicator',
      indicator: {
        type: 'domain',
        value: 'evil.com',
        source: { feedId: 'reports', format: 'text', receivedAt: '2026-05-15T09:00:00Z', rawRef: 'offset:0' },
        context: { offset: 0, raw: 'evil[.]com' },
      },
    });
  });

  it('leaves context.raw out when the text was already canonical', () => {
    // Act
    const [event] = [...textEvents('evil.com', options, { format: 'text' })];

    // Assess
    expect(event?.kind === 'indicator' && event.indicator.context).toEqual({ offset: 0 });
  });

  it('turns each rejected candidate into a quarantine record with its reason and place', () => {
    // Act
    const events = [
      ...textEvents('see http://wiki/page', options, {
        format: 'rss',
        objectId: 'item-1',
        baseRef: 'item:1/',
      }),
    ];

    // Assess
    expect(events).toEqual([
      {
        kind: 'quarantine',
        record: {
          reason: 'URL host: expected a domain name with at least two labels, found "wiki"',
          type: 'url',
          value: 'http://wiki/page',
          rawRef: 'item:1/offset:4',
          objectId: 'item-1',
        },
      },
    ]);
  });

  it('applies the feed defaults and type filter of a feed config', () => {
    // Prepare
    const feedConfig = FeedConfigSchema.parse({
      id: 'reports',
      format: 'text',
      defaults: { confidence: 60, tlp: 'amber', labels: ['report'] },
      filters: { types: ['ipv4'] },
    });

    // Act
    const indicators = indicatorsOf(
      textEvents(
        'C2 198.51.100.7 and evil.com',
        { ...options, feedConfig },
        { format: 'text', context: { title: 'IR' } },
      ),
    );

    // Assess
    expect(indicators).toEqual([
      expect.objectContaining({
        type: 'ipv4',
        confidence: 60,
        tlp: 'amber',
        labels: ['report'],
        context: { title: 'IR', offset: 3 },
      }),
    ]);
  });

  it('counts a value the type filter leaves out as skipped, not silently dropped', () => {
    // Prepare
    const feedConfig = FeedConfigSchema.parse({
      id: 'reports',
      format: 'text',
      filters: { types: ['ipv4'] },
    });

    // Act
    const events = [...textEvents('evil.com and evil.com', { ...options, feedConfig }, { format: 'text' })];

    // Assess
    expect(events).toEqual([
      {
        kind: 'skip',
        record: {
          reason: "type domain is not in the feed's type filter",
          objectId: undefined,
          rawRef: 'offset:0',
        },
      },
    ]);
  });
});

describe('textParser', () => {
  it('is the text format, decodes UTF-8 and drops a byte-order mark', () => {
    // Prepare
    const bytes = new TextEncoder().encode('\uFEFFC2 198.51.100.7');

    // Act
    const [indicator] = indicatorsOf(textParser.parse(bytes, { ...options, documentId: 'doc-1' }));

    // Assess
    expect(textParser.format).toBe('text');
    expect(indicator?.source).toEqual({
      feedId: 'reports',
      format: 'text',
      receivedAt: '2026-05-15T09:00:00Z',
      rawRef: 'offset:3',
      documentId: 'doc-1',
    });
  });
});

describe('the ESET Operation In(ter)ception write-up (AsciiDoc)', () => {
  const text = fixture('eset-interception-README.adoc').toString('utf8');
  const { hits, rejected } = extractIndicators(text);
  const byType = (type: string) => hits.filter((h) => h.type === type).map((h) => h.value);

  it('finds 8 SHA-1, 62 URLs and 28 file paths, and nothing else', () => {
    // Prepare
    const counts: Record<string, number> = {};
    for (const hit of hits) counts[hit.type] = (counts[hit.type] ?? 0) + 1;

    // Assess
    expect(counts).toEqual({ sha1: 8, url: 62, filename: 28 });
    expect(rejected).toEqual([]);
  });

  it('reads AsciiDoc links up to their label', () => {
    expect(byType('url').slice(0, 3)).toEqual([
      'https://www.welivesecurity.com/2020/06/17/operation-interception-aerospace-military-companies-cyberspies/',
      'https://www.welivesecurity.com/wp-content/uploads/2020/06/ESET_Operation_Interception.pdf',
      'https://www.welivesecurity.com/',
    ]);
  });

  it('refangs the network indicators of the listing block', () => {
    expect(byType('url')).toEqual(
      expect.arrayContaining([
        'https://cwjamaica.biz/images/logo.png',
        'https://km.wu.ac.th/image/office.jpg',
        'http://205.210.162.36/start.html',
        'http://205.210.162.36/www2default/css1/style.xsl',
        'https://www2.markham.ca/exports-to-Turkey.asp',
        'https://chuta.jp/jtool/dic.css',
        'http://servicediscovery.kozow.com/',
        'https://w3.casacam.net/',
      ]),
    );
  });

  it('lower-cases the SHA-1 hashes and keeps file paths as written', () => {
    expect(byType('sha1')[0]).toBe('b1199ee7afb1f348d42bef1caed7e405a7631b1b');
    expect(byType('sha1')[7]).toBe('d07b19373293369c55cc6e7e0d4cf6cfe32542df');
    expect(byType('filename')).toEqual(
      expect.arrayContaining([
        'C:\\Intel\\IntelR.lor',
        'C:\\NVidia\\NvDaemon.exe',
        'C:\\Users\\<USER>\\AppData\\Local\\Temp\\~pwshld3.dat',
        'C:\\Users\\<USER>\\AppData\\Local\\NTUSER45F7.POL',
      ]),
    );
  });

  it('points every hit at its text in the document', () => {
    for (const hit of hits) expect(text.slice(hit.offset, hit.offset + hit.length)).toBe(hit.raw);
  });
});

describe('the ESET Turla sample list (bare SHA-256 lines)', () => {
  it('finds all 130 hashes as sha256, in order', () => {
    // Prepare
    const lines = fixture('eset-turla-samples.sha256').toString('utf8').trim().split('\n');

    // Act
    const indicators = indicatorsOf(textParser.parse(fixture('eset-turla-samples.sha256'), options));

    // Assess
    expect(indicators).toHaveLength(130);
    expect(indicators.map((i) => [i.type, i.value])).toEqual(lines.map((l) => ['sha256', l.toLowerCase()]));
  });
});
