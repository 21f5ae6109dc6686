import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { type FeedConfigInput, FeedConfigSchema } from '../../functions/domain/feed-config.ts';
import type { Indicator } from '../../functions/domain/indicator.ts';
import { detectFormat, parseDocument } from '../../functions/formats/index.ts';
import { DocumentError, type ParseEvent, type ParseOptions } from '../../functions/formats/types.ts';
import {
  decodeXmlBytes,
  decodeXmlEntities,
  parseXmlDocument,
  rootElementName,
  xmlParser,
} from '../../functions/formats/xml.ts';

const FIXTURES = new URL('../fixtures/feeds/xml/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const base: ParseOptions = { feedId: 'xml-feed', receivedAt: '2026-05-15T09:00:00Z' };
const withFeed = (feed: Omit<FeedConfigInput, 'id' | 'format'>): ParseOptions => ({
  ...base,
  feedConfig: FeedConfigSchema.parse({ id: 'xml-feed', format: 'xml', ...feed }),
});
const utf8 = (text: string) => new TextEncoder().encode(text);

function split(events: Iterable<ParseEvent>) {
  const indicators: Indicator[] = [];
  const quarantined: { reason: string; rawRef?: string | undefined; objectId?: string | undefined }[] = [];
  for (const e of events) {
    if (e.kind === 'indicator') indicators.push(e.indicator);
    else if (e.kind === 'quarantine') quarantined.push(e.record);
  }
  return { indicators, quarantined };
}

const cleanMx = withFeed({
  xml: {
    recordPath: 'output.entries.entry[*]',
    fields: [
      { path: 'url', type: 'url' },
      { path: 'md5', type: 'md5' },
      { path: 'ip', type: 'ipv4' },
      { path: 'domain', type: 'domain' },
    ],
    idPath: 'id',
    firstSeenPath: 'first',
    namesPath: 'virusname',
    contextPaths: { asn: 'as', country: 'country', descr: 'descr' },
  },
});

describe('xmlParser', () => {
  it('extracts the STIX 1.x observable of the PyMISP package with the built-in stix1 preset', () => {
    // Act
    const { format, events } = parseDocument(fixture('pymisp-stix1.xml'), 'auto', base);
    const { indicators, quarantined } = split(events);
    // Assess
    expect(format).toBe('xml');
    expect(indicators.map((i) => [i.type, i.value, i.source.objectId])).toEqual([
      ['ipv4', '8.8.8.8', 'ORGNAME:AddressObject-0853d51f-0fe7-4d35-b3cb-b96bdbc1f0ee'],
    ]);
    expect(quarantined).toEqual([]);
  });

  it('reads STIX 1.x hashes, domains and URIs with namespace prefixes dropped', () => {
    // Prepare
    const doc = `<stix:STIX_Package xmlns:stix="s" xmlns:cybox="c" xmlns:FileObj="f" xmlns:cyboxCommon="cc" xmlns:xsi="x">
      <cybox:Object id="o1"><cybox:Properties xsi:type="DomainNameObj:DomainNameObjectType"><DomainNameObj:Value>evil.example.com</DomainNameObj:Value></cybox:Properties></cybox:Object>
      <cybox:Object id="o2"><cybox:Properties xsi:type="URIObj:URIObjectType"><URIObj:Value>http://evil.example.com/a?b=1&amp;c=2</URIObj:Value></cybox:Properties></cybox:Object>
      <cybox:Object id="o3"><cybox:Properties xsi:type="FileObj:FileObjectType"><FileObj:Hashes>
        <cyboxCommon:Hash><cyboxCommon:Type>MD5</cyboxCommon:Type><cyboxCommon:Simple_Hash_Value>D41D8CD98F00B204E9800998ECF8427E</cyboxCommon:Simple_Hash_Value></cyboxCommon:Hash>
        <cyboxCommon:Hash><cyboxCommon:Type>SHA256</cyboxCommon:Type><cyboxCommon:Simple_Hash_Value>e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855</cyboxCommon:Simple_Hash_Value></cyboxCommon:Hash>
      </FileObj:Hashes></cybox:Properties></cybox:Object>
    </stix:STIX_Package>`;
    // Act
    const { indicators } = split(xmlParser.parse(utf8(doc), { ...base, preset: 'stix1' }));
    // Assess
    expect(indicators.map((i) => [i.type, i.value, i.source.objectId])).toEqual([
      ['domain', 'evil.example.com', 'o1'],
      ['url', 'http://evil.example.com/a?b=1&c=2', 'o2'],
      ['md5', 'd41d8cd98f00b204e9800998ecf8427e', 'o3'],
      ['sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'o3'],
    ]);
  });

  it('maps a CleanMX-style ISO-8859-15 feed: several fields per record, epoch dates, CDATA, umlauts', () => {
    // Act
    const { indicators, quarantined } = split(xmlParser.parse(fixture('cleanmx-viruses.xml'), cleanMx));
    // Assess
    expect(indicators.map((i) => [i.type, i.value])).toEqual([
      ['url', 'http://files.example-mirror.com/download/setup.exe?id=7&lang=de'],
      ['md5', '3b4c0e6f2a1d9e8b7c6a5f4e3d2c1b0a'],
      ['ipv4', '203.0.113.77'],
      ['domain', 'files.example-mirror.com'],
      ['url', 'http://198.51.100.23/bins/mips'],
      ['ipv4', '198.51.100.23'],
    ]);
    expect(indicators[0]).toMatchObject({
      names: ['Trojan-Downloader.Win32.Agent'],
      firstSeen: '2024-04-04T07:00:00.000Z',
      context: { asn: 'AS64500', country: 'DE', descr: 'Beispiel Hosting GmbH, München' },
      source: { format: 'xml', objectId: '21763712', rawRef: '/output/entries/entry/0' },
    });
    expect(quarantined.map((q) => [q.rawRef, q.reason])).toEqual([
      ['/output/entries/entry/1', 'expected 32 hex digits for md5, found "nohash"'],
      ['/output/entries/entry/2', 'no value at url, md5, ip, domain'],
    ]);
  });

  it('reads the bundled sample in the default <indicators> shape', () => {
    // Act
    const { format, events } = parseDocument(
      readFileSync(new URL('../../samples/indicators.xml', import.meta.url)),
      'auto',
      base,
    );
    const { indicators, quarantined } = split(events);
    // Assess
    expect(format).toBe('xml');
    expect(indicators.map((i) => [i.type, i.value, i.confidence])).toEqual([
      ['ipv4', '194.233.91.144', 85],
      ['url', 'http://mail-verify.example-login.org/owa/?u=a&p=b', 70],
      ['domain', 'secure-login.example-paypal.com', undefined],
      ['cve', 'CVE-2023-36884', undefined],
    ]);
    expect(indicators[0]?.names).toEqual(['Pikabot']);
    expect(quarantined).toEqual([expect.objectContaining({ objectId: 'xml-0005' })]);
  });

  it.each([
    ['malformed XML', utf8('<a><b></a>'), base, 'not well-formed XML'],
    ['text that is no XML', utf8('hello'), base, 'not an XML document'],
    [
      'an unknown declared encoding',
      utf8('<?xml version="1.0" encoding="x-klingon"?><a/>'),
      base,
      "encoding 'x-klingon'",
    ],
    ['an unknown preset', utf8('<a/>'), { ...base, preset: 'nope' }, "unknown XML preset 'nope'"],
    [
      'a record path that leads nowhere',
      utf8('<other/>'),
      base,
      "record path 'indicators.indicator[*]' matches nothing",
    ],
  ])('throws a DocumentError for %s', (_name, input, options, message) => {
    // Act
    const act = () => xmlParser.parse(input, options);
    // Assess
    expect(act).toThrow(DocumentError);
    expect(act).toThrow(message);
  });

  it('does not claim HTML for --format auto', () => {
    expect(detectFormat(utf8('<!DOCTYPE html><html><body>hi</body></html>'))).toBe('text');
    expect(detectFormat(utf8('<?xml version="1.0"?><output/>'))).toBe('xml');
  });
});

describe('decodeXmlEntities', () => {
  it.each([
    ['a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;', 'a <b> & "c" \'d\''],
    ['&#65;&#x42;&#x1F600;', 'AB😀'],
    ['&nbsp;&copy;&lol;', '&nbsp;&copy;&lol;'],
    ['&#0;&#xD800;&#x110000;', '&#0;&#xD800;&#x110000;'],
    ['&amp;lt;', '&lt;'],
    ['no entities', 'no entities'],
  ])('decodes %j as %j', (input, expected) => {
    expect(decodeXmlEntities(input)).toBe(expected);
  });
});

describe('decodeXmlBytes', () => {
  it.each([
    ['ISO-8859-1', 'Grüße aus Köln'],
    ['windows-1252', 'Preis: 5 € – „Zitat“'],
    ['GB2312', '恶意软件 evil.example.com'],
    ['Shift_JIS', 'マルウェア'],
  ])('decodes a document declared %s', (encoding, text) => {
    // Prepare
    const doc = `<?xml version="1.0" encoding="${encoding}"?><a>${text}</a>`;
    // Act
    const decoded = decodeXmlBytes(iconv.encode(doc, encoding));
    // Assess
    expect(decoded).toBe(doc);
  });

  it.each([
    ['a UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a>ü</a>')]), '<a>ü</a>'],
    [
      'a UTF-16LE BOM',
      Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode('<a>ü</a>', 'utf16le')]),
      '<a>ü</a>',
    ],
    ['no declaration', Buffer.from('<a>ü</a>'), '<a>ü</a>'],
  ])('decodes a document with %s', (_name, input, expected) => {
    expect(decodeXmlBytes(input).replace(/^\uFEFF/, '')).toBe(expected);
  });
});

describe('rootElementName', () => {
  it.each([
    ['<?xml version="1.0"?>\n<!-- c --><rss version="2.0">', 'rss'],
    ['\uFEFF<rdf:RDF xmlns:rdf="x">', 'rdf:RDF'],
    ['<!DOCTYPE rss PUBLIC "-//Netscape" "http://x/rss-0.91.dtd"><rss>', 'rss'],
    ['<!DOCTYPE x [ <!ELEMENT x ANY> ]><x/>', 'x'],
    ['plain text', undefined],
    ['<?xml unterminated', undefined],
  ])('finds the root of %j', (text, expected) => {
    expect(rootElementName(text)).toBe(expected);
  });
});

describe('parseXmlDocument', () => {
  it('keeps attributes as @name, text as #text and CDATA apart', () => {
    expect(parseXmlDocument(utf8('<a><b x="1&amp;2">t &lt; u<![CDATA[<i>c</i>]]></b></a>'))).toEqual({
      a: { b: { '@x': '1&2', '#text': 't < u', '#cdata': '<i>c</i>' } },
    });
  });

  it('accepts a DOCTYPE without entity declarations (RSS 0.91 style)', () => {
    expect(parseXmlDocument(utf8('<!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a>x</a>'))).toEqual({
      a: 'x',
    });
  });

  it('leaves undeclared entity references as written instead of expanding them', () => {
    expect(parseXmlDocument(utf8('<a>&ext;</a>'))).toEqual({ a: '&ext;' });
  });
});

describe('xmlParser on arbitrary input', () => {
  it('yields events or throws a DocumentError, never another error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc
            .array(
              fc.oneof(
                fc.constantFrom(
                  '<indicators>',
                  '</indicators>',
                  '<indicator type="ipv4">',
                  '</indicator>',
                  '<value>',
                ),
                fc.constantFrom(
                  '</value>',
                  '<!DOCTYPE x [',
                  ']>',
                  '<!--',
                  '-->',
                  '<![CDATA[',
                  ']]>',
                  '&amp;',
                  '&#0;',
                ),
                fc.string({ maxLength: 10 }),
              ),
              { maxLength: 30 },
            )
            .map((parts) => parts.join('')),
        ),
        (text) => {
          try {
            const events = [...xmlParser.parse(utf8(text), base)];
            expect(events.every((e) => ['indicator', 'quarantine', 'skip'].includes(e.kind))).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(DocumentError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
