import { describe, expect, it } from 'vitest';
import { rssParser } from '../../functions/formats/rss.ts';
import { DocumentError } from '../../functions/formats/types.ts';
import { parseXmlDocument, XML_LIMITS, xmlParser } from '../../functions/formats/xml.ts';

const options = { feedId: 'xml-feed', receivedAt: '2026-05-15T09:00:00Z' };
const utf8 = (text: string) => new TextEncoder().encode(text);

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  ${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('\n  ')}
]>
<lolz>&lol9;</lolz>`;

const externalEntity = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE foo [ <!ELEMENT foo ANY> <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<foo>&xxe;</foo>`;

const parameterEntity = `<?xml version="1.0"?>
<!DOCTYPE data [ <!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote; ]>
<data>x</data>`;

const rssWithXxe = `<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "file:///etc/hostname"> ]>
<rss version="2.0"><channel><item><title>&xxe;</title></item></channel></rss>`;

/**
 * Run `act`, returning what it threw and how much memory grew meanwhile. No clock: a busy CI machine makes
 * milliseconds meaningless; the exact error (raised before a tree is built) and flat memory show the guard.
 */
function measure(act: () => unknown): { error: unknown; rssGrowth: number; heapGrowth: number } {
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  let error: unknown;
  try {
    const result = act();
    if (result && typeof result === 'object' && Symbol.iterator in result) [...(result as Iterable<unknown>)];
  } catch (e) {
    error = e;
  }
  const after = process.memoryUsage();
  peakRss = Math.max(peakRss, after.rss);
  peakHeap = Math.max(peakHeap, after.heapUsed);
  return { error, rssGrowth: peakRss - before.rss, heapGrowth: peakHeap - before.heapUsed };
}

const MB = 1024 * 1024;

describe('hostile XML', () => {
  it.each([
    ['billion laughs', billionLaughs, xmlParser],
    ['an external entity (XXE)', externalEntity, xmlParser],
    ['an external parameter entity', parameterEntity, xmlParser],
    ['an RSS feed with an external entity', rssWithXxe, rssParser],
  ])('rejects %s with memory flat, with a clear reason', (_name, doc, parser) => {
    // Act
    const { error, rssGrowth, heapGrowth } = measure(() => parser.parse(utf8(doc), options));
    // Assess
    expect(error).toBeInstanceOf(DocumentError);
    expect((error as Error).message).toMatch(/DOCTYPE that declares entities/);
    expect(rssGrowth).toBeLessThan(100 * MB);
    expect(heapGrowth).toBeLessThan(100 * MB);
  });

  it('rejects nesting deeper than the limit before building a tree', () => {
    // Prepare
    const depth = 100_000;
    const doc = `${'<a>'.repeat(depth)}x${'</a>'.repeat(depth)}`;
    // Act
    const { error, heapGrowth } = measure(() => parseXmlDocument(utf8(doc)));
    // Assess
    expect((error as Error).message).toBe(`XML nested deeper than ${XML_LIMITS.maxDepth} elements`);
    expect(heapGrowth).toBeLessThan(100 * MB);
  });

  it('rejects more elements than the limit before building a tree', () => {
    // Prepare
    const doc = `<r>${'<e/>'.repeat(XML_LIMITS.maxElements + 1)}</r>`;
    // Act
    const { error } = measure(() => parseXmlDocument(utf8(doc)));
    // Assess
    expect((error as Error).message).toBe(`XML has more than ${XML_LIMITS.maxElements} elements`);
  });

  it('rejects a document over the size limit without decoding it', () => {
    // Prepare
    const input = new Uint8Array(XML_LIMITS.maxBytes + 1).fill(0x20);
    // Act
    const { error } = measure(() => parseXmlDocument(input));
    // Assess
    expect((error as Error).message).toMatch(/exceeds the 33554432-byte limit/);
  });

  it('keeps a > inside an attribute value from hiding an element from the count', () => {
    // Prepare
    const doc = `<r>${'<e a="1>2"/>'.repeat(XML_LIMITS.maxElements + 1)}</r>`;
    // Act
    const act = () => parseXmlDocument(utf8(doc));
    // Assess
    expect(act).toThrow(`XML has more than ${XML_LIMITS.maxElements} elements`);
  });
});

describe('entity declarations as text', () => {
  it('reads a feed whose CDATA and comments quote an XXE payload, since that is prose, not markup', () => {
    // Prepare
    const doc = `<?xml version="1.0"?><!-- example: <!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]> -->
<rss version="2.0"><channel><item><title>XXE in the wild</title>
<description><![CDATA[Payload <!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]> sent to 198.51.100[.]7]]></description>
</item></channel></rss>`;
    // Act
    const events = [...rssParser.parse(utf8(doc), options)];
    // Assess
    expect(events.flatMap((e) => (e.kind === 'indicator' ? [e.indicator.value] : []))).toEqual([
      '198.51.100.7',
    ]);
  });

  it('rejects an entity declared after an attribute list whose default value holds "]>"', () => {
    // Prepare
    const doc = `<!DOCTYPE r [ <!ATTLIST r a CDATA "]>"> <!ENTITY e "boom"> ]><r>&e;</r>`;
    // Act
    const act = () => parseXmlDocument(utf8(doc));
    // Assess
    expect(act).toThrow('DOCTYPE that declares entities');
  });
});
