import { textOf } from './json.ts';
import { toIsoTimestamp } from './record-fields.ts';
import { textEvents } from './text.ts';
import { DocumentError, type FormatParser, type ParseEvent, type ParseOptions } from './types.ts';
import { decodeXmlEntities, localName, parseXmlDocument, rootElementName } from './xml.ts';

/** One feed item as provenance and prose. */
export interface FeedItem {
  title?: string | undefined;
  link?: string | undefined;
  published?: string | undefined;
  /** guid, Atom id, RSS 1.0 rdf:about, else the link. */
  id?: string | undefined;
  /** Title, description/summary and content, HTML stripped. */
  text: string;
}

const TAG = /<\/?[A-Za-z][^<>]*>/g;
const COMMENT = /<!--[\s\S]{0,65536}?-->/g;
const SCRIPT = /<(script|style)\b[^<>]*>[\s\S]{0,262144}?<\/\1\s*>/gi;
const CDATA_MARK = /<!\[CDATA\[|\]\]>/g;
const MAX_PASSES = 16;

/**
 * Plain text from an HTML fragment: scripts, styles, comments and tags removed (each tag becomes a space,
 * so `<td>a</td><td>b</td>` stays two words), the 5 XML and numeric entities decoded, white space folded.
 * Repeated until nothing changes, so escaped markup (`&lt;b&gt;`) goes too and stripping is idempotent.
 *
 * @example stripHtml('<p>C2: <code>evil[.]example</code> &amp; more</p>') // 'C2: evil[.]example & more'
 */
export function stripHtml(html: string): string {
  let text = html;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const next = decodeXmlEntities(
      text.replace(SCRIPT, ' ').replace(COMMENT, ' ').replace(CDATA_MARK, ' ').replace(TAG, ' '),
    )
      .replace(/\s+/g, ' ')
      .trim();
    if (next === text) return next;
    text = next;
  }
  return text;
}

/** All text under an XML node (Atom `type="xhtml"` content is a tree of elements), attributes left out. */
function nodeText(node: unknown): string {
  if (node === undefined || node === null) return '';
  if (Array.isArray(node)) return node.map(nodeText).join(' ');
  if (typeof node !== 'object') return String(node);
  const own = textOf(node) ?? '';
  const children = Object.entries(node as Record<string, unknown>)
    .filter(([key]) => !key.startsWith('@') && key !== '#text' && key !== '#cdata')
    .map(([, child]) => nodeText(child));
  return [own, ...children].filter((t) => t !== '').join(' ');
}

function field(item: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = item[key];
    const first = Array.isArray(value) ? value[0] : value;
    const text = first === undefined ? undefined : stripHtml(nodeText(first));
    if (text) return text;
  }
  return undefined;
}

/** Atom links are elements with href; the alternate (or rel-less) one is the item's page. */
function atomLink(link: unknown): string | undefined {
  const links = (Array.isArray(link) ? link : [link]).filter(
    (l): l is Record<string, unknown> => typeof l === 'object' && l !== null,
  );
  const page = links.find((l) => l['@rel'] === undefined || l['@rel'] === 'alternate') ?? links[0];
  const href = page?.['@href'];
  return typeof href === 'string' && href !== '' ? href : undefined;
}

function asRecords(value: unknown): Record<string, unknown>[] {
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(
    (v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v),
  );
}

/**
 * The items of an RSS 2.0 / 0.9x, RSS 1.0 (RDF) or Atom document, as parsed by parseXmlDocument.
 *
 * @example feedItems({ rss: { channel: { item: { title: 'C2 at evil[.]example' } } } })[0]?.title // 'C2 at evil[.]example'
 */
export function feedItems(tree: Record<string, unknown>): FeedItem[] {
  const rootKey = Object.keys(tree).find((k) => ['rss', 'RDF', 'feed'].includes(k));
  const root = rootKey ? asRecords(tree[rootKey])[0] : undefined;
  if (!root) return [];
  if (rootKey === 'feed') {
    return asRecords(root['entry']).map((entry) => {
      const link = atomLink(entry['link']);
      return {
        title: field(entry, 'title'),
        link,
        published: toIsoTimestamp(field(entry, 'published', 'updated')),
        id: field(entry, 'id') ?? link,
        text: joinText(field(entry, 'title'), field(entry, 'summary'), field(entry, 'content')),
      };
    });
  }
  const items =
    rootKey === 'rss' ? asRecords(asRecords(root['channel'])[0]?.['item']) : asRecords(root['item']);
  return items.map((item) => {
    const link = field(item, 'link');
    const about = typeof item['@about'] === 'string' ? item['@about'] : undefined;
    return {
      title: field(item, 'title'),
      link,
      published: toIsoTimestamp(field(item, 'pubDate', 'date', 'published', 'updated')),
      id: field(item, 'guid') ?? about ?? link,
      text: joinText(field(item, 'title'), field(item, 'description'), field(item, 'encoded', 'content')),
    };
  });
}

function joinText(...parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => p !== undefined && p !== '').join('\n\n');
}

function* itemEvents(items: FeedItem[], options: ParseOptions): Generator<ParseEvent> {
  for (const [index, item] of items.entries()) {
    const context: Record<string, unknown> = {};
    if (item.title !== undefined) context['title'] = item.title;
    if (item.link !== undefined) context['link'] = item.link;
    if (item.published !== undefined) context['published'] = item.published;
    const provenance = {
      format: 'rss' as const,
      baseRef: `item:${index}/`,
      context,
      ...(item.id !== undefined ? { objectId: item.id } : {}),
    };
    let found = false;
    for (const event of textEvents(item.text, options, provenance)) {
      found = true;
      yield event;
    }
    if (!found)
      yield {
        kind: 'skip',
        record: { reason: 'no indicators in item', objectId: item.id, rawRef: `item:${index}` },
      };
  }
}

/**
 * RSS 2.0, RSS 1.0 (RDF) and Atom: indicators extracted from each item's title, description and content
 * (HTML stripped), with the item's link, title and date as context and its guid/id/link as objectId.
 * Declared encodings are decoded; the XML limits and entity rules of the XML format apply.
 */
export const rssParser: FormatParser = {
  format: 'rss',
  detect: (head) => {
    const root = rootElementName(head);
    if (root === undefined) return false;
    const name = localName(root);
    if (name === 'rss') return true;
    if (name === 'RDF') return head.includes('purl.org/rss/1.0');
    return name === 'feed' && head.includes('http://www.w3.org/2005/Atom');
  },
  parse: (input, options) => {
    if (options.preset !== undefined)
      throw new DocumentError(`format rss has no presets (got '${options.preset}')`);
    return itemEvents(
      feedItems(parseXmlDocument(input, { roots: ['rss', 'RDF', 'feed'], what: 'an RSS/Atom document' })),
      options,
    );
  },
};
