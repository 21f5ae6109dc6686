import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { Indicator } from '../../functions/domain/indicator.ts';
import { detectFormat, parseDocument } from '../../functions/formats/index.ts';
import { rssParser, stripHtml } from '../../functions/formats/rss.ts';
import { DocumentError, type ParseEvent, type ParseOptions } from '../../functions/formats/types.ts';

const FIXTURES = new URL('../fixtures/feeds/rss/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const options: ParseOptions = { feedId: 'blog', receivedAt: '2026-05-15T09:00:00Z' };

function split(events: Iterable<ParseEvent>) {
  const indicators: Indicator[] = [];
  const quarantined: { reason: string; rawRef?: string | undefined; objectId?: string | undefined }[] = [];
  const skipped: { reason: string; rawRef?: string | undefined; objectId?: string | undefined }[] = [];
  for (const e of events) {
    if (e.kind === 'indicator') indicators.push(e.indicator);
    else if (e.kind === 'quarantine') quarantined.push(e.record);
    else skipped.push(e.record);
  }
  return { indicators, quarantined, skipped };
}

const rss = (items: string, encoding = 'UTF-8') =>
  `<?xml version="1.0" encoding="${encoding}"?><rss version="2.0"><channel><title>t</title>${items}</channel></rss>`;

describe('rssParser', () => {
  it('extracts defanged indicators from a security blog, with item link, title and date as provenance', () => {
    // Act
    const { indicators, quarantined, skipped } = split(
      rssParser.parse(fixture('security-blog.rss'), options),
    );
    // Assess
    expect(indicators.map((i) => [i.type, i.value])).toEqual([
      ['url', 'https://cdn-updates.example-files.net/'],
      ['ipv4', '185.220.101.47'],
      ['ipv4', '91.215.85.19'],
      ['url', 'https://cdn-updates.example-files.net/dl/invoice_0412.zip'],
      ['sha256', '5f815b8a8e77731c9ca2b3a07a27f880ef24d54e458d77bdabbbaf2269fe96c3'],
      ['email', 'billing@invoices-example.com'],
      ['cve', 'CVE-2023-36884'],
      ['url', 'http://mail-verify.example-login.org/owa/'],
      ['md5', 'd41d8cd98f00b204e9800998ecf8427e'],
    ]);
    expect(indicators[1]).toMatchObject({
      source: {
        format: 'rss',
        objectId: 'research-2024-0412',
        rawRef: expect.stringMatching(/^item:0\/offset:\d+$/),
      },
      context: {
        title: 'QakBot returns: new loader served from hxxps://cdn-updates[.]example-files[.]net',
        link: 'https://research.example-security.com/2024/04/qakbot-returns/',
        published: '2024-04-12T09:30:00.000Z',
        raw: '185.220.101[.]47',
      },
    });
    // An item without a guid is identified by its link; its escaped <b> title is stripped.
    expect(indicators[7]?.source.objectId).toBe('https://research.example-security.com/2024/04/webmail-kit/');
    expect(indicators[7]?.context['title']).toBe('Phishing kit targets webmail users');
    expect(quarantined).toEqual([
      expect.objectContaining({
        objectId: 'research-2024-0412',
        reason: expect.stringContaining('300.20.10.5'),
      }),
    ]);
    expect(skipped).toEqual([
      {
        reason: 'no indicators in item',
        objectId: 'https://research.example-security.com/2024/04/patch-tuesday/',
        rawRef: 'item:1',
      },
    ]);
  });

  it.each([
    ['rss-parser--heise.atom', 15, 'http://heise.de/-3088438'],
    ['rss-parser--missing-fields.atom', 1, 'tag:github.com,2008:Repository/11167738/v3.9.0'],
    ['rss-parser--pagination-links.rss', 1, undefined],
    ['rss-parser--rss-1.rss', 69, undefined],
  ])(
    'reads every item of %s: news prose has no indicators, each item is counted as skipped',
    (name, items, id) => {
      // Act
      const { indicators, quarantined, skipped } = split(rssParser.parse(fixture(name), options));
      // Assess
      expect(indicators).toEqual([]);
      expect(quarantined).toEqual([]);
      expect(skipped).toHaveLength(items);
      expect(skipped.every((s) => s.reason === 'no indicators in item')).toBe(true);
      if (id !== undefined) expect(skipped[0]?.objectId).toBe(id);
    },
  );

  it('keeps umlauts of the heise Atom feed and uses the alternate link and published date', () => {
    // Prepare
    const doc = fixture('rss-parser--heise.atom').toString('utf8');
    const withIoc = doc.replace(
      'Die nun verfügbare Version 10',
      'Über evil[.]example[.]com: die nun verfügbare Version 10',
    );
    // Act
    const { indicators } = split(rssParser.parse(new TextEncoder().encode(withIoc), options));
    // Assess
    expect(indicators[0]).toMatchObject({
      type: 'domain',
      value: 'evil.example.com',
      source: { objectId: 'http://heise.de/-3088438' },
      context: {
        title: 'Java-Anwendungsserver: Red Hat gibt WildFly 10 frei',
        link: 'http://www.heise.de/developer/meldung/Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html?wt_mc=rss.developer.beitrag.atom',
        published: '2016-02-01T16:22:00.000Z',
      },
    });
  });

  it('reads RSS 1.0 (RDF) items with rdf:about as id and dc:date as date', () => {
    // Prepare
    const doc = `<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="http://example.org/"><title>x</title></channel>
      <item rdf:about="http://example.org/post/1"><title>C2 198.51.100[.]7</title><link>http://example.org/post/1</link><dc:date>2024-04-01T10:00:00Z</dc:date></item>
    </rdf:RDF>`;
    // Act
    const { indicators } = split(rssParser.parse(new TextEncoder().encode(doc), options));
    // Assess
    expect(indicators.map((i) => [i.value, i.source.objectId, i.context['published']])).toEqual([
      ['198.51.100.7', 'http://example.org/post/1', '2024-04-01T10:00:00.000Z'],
    ]);
  });

  it('reads Atom xhtml content and summary', () => {
    // Prepare
    const doc = `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:x:1</id><title type="html">&lt;b&gt;Report&lt;/b&gt;</title>
      <summary>Hash D41D8CD98F00B204E9800998ECF8427E</summary>
      <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Beacon to <code>evil[.]example[.]net</code></p></div></content></entry></feed>`;
    // Act
    const { indicators } = split(rssParser.parse(new TextEncoder().encode(doc), options));
    // Assess
    expect(indicators.map((i) => [i.type, i.value, i.context['title']])).toEqual([
      ['md5', 'd41d8cd98f00b204e9800998ecf8427e', 'Report'],
      ['domain', 'evil.example.net', 'Report'],
    ]);
  });

  it.each([
    [
      'ISO-8859-1',
      'Über die Domain boese[.]example[.]de und 198.51.100[.]9 - Grüße',
      ['boese.example.de', '198.51.100.9'],
    ],
    ['windows-1252', 'Preis 5 € — C2 evil[.]example[.]com', ['evil.example.com']],
    ['GB2312', '恶意软件 控制服务器 203.0.113[.]5', ['203.0.113.5']],
  ])('decodes a feed declared %s before parsing', (encoding, title, values) => {
    // Prepare
    const bytes = iconv.encode(
      rss(`<item><title>${title}</title><guid>g1</guid></item>`, encoding),
      encoding,
    );
    // Act
    const { indicators } = split(rssParser.parse(bytes, options));
    // Assess
    expect(indicators.map((i) => i.value)).toEqual(values);
    expect(indicators[0]?.context['title']).toBe(title);
  });

  it('rejects an HTML page served instead of a feed', () => {
    // Act
    const act = () => rssParser.parse(fixture('rss-parser--unrecognized.rss'), options);
    // Assess
    expect(act).toThrow(DocumentError);
    expect(act).toThrow('not an RSS/Atom document (root element <head>)');
  });

  it('refuses a preset', () => {
    expect(() => rssParser.parse(fixture('security-blog.rss'), { ...options, preset: 'plain' })).toThrow(
      "format rss has no presets (got 'plain')",
    );
  });

  it.each([
    ['rss-parser--heise.atom', 'rss'],
    ['rss-parser--rss-1.rss', 'rss'],
    ['rss-parser--pagination-links.rss', 'rss'],
    ['security-blog.rss', 'rss'],
    ['rss-parser--unrecognized.rss', 'text'],
  ])('is recognized by --format auto: %s → %s', (name, format) => {
    expect(detectFormat(fixture(name))).toBe(format);
  });

  it('parses the bundled sample feed through parseDocument', () => {
    // Act
    const { format, events } = parseDocument(
      readFileSync(new URL('../../samples/feed.rss', import.meta.url)),
      'auto',
      options,
    );
    // Assess
    expect(format).toBe('rss');
    expect(split(events).indicators).toHaveLength(9);
  });
});

describe('stripHtml', () => {
  it.each([
    ['<p>C2: <code>evil[.]example</code> &amp; more</p>', 'C2: evil[.]example & more'],
    ['<td>a</td><td>b</td>', 'a b'],
    ['&lt;b&gt;bold&lt;/b&gt;', 'bold'],
    ['<script>var x = "198.51.100.7";</script>text', 'text'],
    ['<style>.a{}</style><!-- 203.0.113.1 -->text', 'text'],
    ['a < b and c > d', 'a < b and c > d'],
    ['&#169; &#x41;', '© A'],
    ['&nbsp;stays', '&nbsp;stays'],
  ])('strips %j to %j', (html, text) => {
    expect(stripHtml(html)).toBe(text);
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc
            .array(
              fc.oneof(
                fc.constantFrom(
                  '<p>',
                  '</p>',
                  '<b>',
                  '&amp;',
                  '&lt;',
                  '&gt;',
                  '&#60;',
                  '<!--',
                  '-->',
                  '<',
                  '>',
                  ' ',
                ),
                fc.string({ maxLength: 8 }),
              ),
              { maxLength: 40 },
            )
            .map((parts) => parts.join('')),
        ),
        (html) => {
          const once = stripHtml(html);
          expect(stripHtml(once)).toBe(once);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('an RSS document with white space before its XML declaration', () => {
  const rss = (prefix: string) =>
    new TextEncoder().encode(
      `${prefix}<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>x</title>` +
        '<description>C2 at 45.77.12.9</description></item></channel></rss>',
    );
  const options: ParseOptions = { feedId: 'rss-feed', receivedAt: '2026-05-15T09:00:00Z' };

  it('is read, detected and parsed (a stray newline from the feed script is all that is wrong)', () => {
    // Act
    const { format, events } = parseDocument(rss('\n\r\n  '), 'auto', options);
    // Assess
    expect(format).toBe('rss');
    const values = [...events].flatMap((e) => (e.kind === 'indicator' ? [e.indicator.value] : []));
    expect(values).toEqual(['45.77.12.9']);
  });

  it('stays a one-line DocumentError when other text stands before the declaration', () => {
    expect(() => [...rssParser.parse(rss('junk\n'), options)]).toThrow(DocumentError);
  });
});
