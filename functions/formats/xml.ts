import { XMLParser } from 'fast-xml-parser';
import iconv from 'iconv-lite';
import { type FieldMappingInput, XML_PRESET_NAMES, type XmlPresetName } from '../domain/feed-config.ts';
import { compileMapping, mappedEvents } from './json.ts';
import { DocumentError, type FormatParser, type ParseOptions } from './types.ts';

/**
 * Limits every XML document (XML feeds and RSS/Atom) is held to before it is parsed, so hostile input is
 * rejected in linear time and bounded memory.
 */
export const XML_LIMITS = {
  /** Bytes of the encoded document. */
  maxBytes: 32 * 1024 * 1024,
  /** Nesting depth of elements. */
  maxDepth: 64,
  /** Elements in the whole document. */
  maxElements: 500_000,
} as const;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  // No DOCTYPE entities, no external entities, no HTML entities: the 5 XML and numeric references are
  // decoded by our own processors below, which cannot expand anything.
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: XML_LIMITS.maxDepth + 1,
  tagValueProcessor: (_name, value) => decodeXmlEntities(value),
  attributeValueProcessor: (_name, value) => decodeXmlEntities(value),
});

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Decode the five predefined XML entities and numeric character references; anything else (`&nbsp;`,
 * DTD-defined names) is left as written. Never expands into more text than a reference's one character.
 *
 * @example decodeXmlEntities('a &lt;b&gt; &#38; &#x41;') // 'a <b> & A'
 */
export function decodeXmlEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,4});/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
    const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    return valid ? String.fromCodePoint(code) : whole;
  });
}

/**
 * Bytes to text, honouring a byte-order mark or the encoding the XML declaration names (ISO-8859-x,
 * windows-125x, GB2312, Shift_JIS, … through iconv-lite). An encoding iconv-lite does not know is a
 * DocumentError.
 *
 * @example decodeXmlBytes(iconv.encode('<?xml version="1.0" encoding="ISO-8859-1"?><a>ü</a>', 'latin1'))
 * // '<?xml version="1.0" encoding="ISO-8859-1"?><a>ü</a>'
 */
export function decodeXmlBytes(input: Uint8Array): string {
  const buffer = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) return iconv.decode(buffer, 'utf8');
  if (buffer[0] === 0xff && buffer[1] === 0xfe) return iconv.decode(buffer, 'utf16le');
  if (buffer[0] === 0xfe && buffer[1] === 0xff) return iconv.decode(buffer, 'utf16be');
  // The declaration is ASCII in every ASCII-compatible encoding, so it can be read before decoding.
  const head = buffer.subarray(0, 200).toString('latin1');
  const declared = /^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']/.exec(head)?.[1];
  const encoding = declared ?? 'utf-8';
  if (!iconv.encodingExists(encoding))
    throw new DocumentError(`the XML declares encoding '${encoding}', which cannot be decoded`);
  return iconv.decode(buffer, encoding);
}

/**
 * The name of the document element, after any declaration, comments, processing instructions and
 * DOCTYPE; undefined when the text does not start like XML.
 *
 * @example rootElementName('<?xml version="1.0"?>\n<!-- x --><rss version="2.0">') // 'rss'
 */
export function rootElementName(text: string): string | undefined {
  let i = 0;
  const n = text.length;
  for (;;) {
    while (i < n && /[\s\uFEFF]/.test(text[i] as string)) i++;
    if (text.startsWith('<?', i)) i = skipPast(text, '?>', i + 2);
    else if (text.startsWith('<!--', i)) i = skipPast(text, '-->', i + 4);
    else if (text.startsWith('<!', i)) i = skipDeclaration(text, i);
    else break;
    if (i === -1) return undefined;
  }
  const m = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(i, i + 256));
  return m?.[1];
}

/** An element name without its namespace prefix. */
export function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

function skipPast(text: string, token: string, from: number): number {
  const at = text.indexOf(token, from);
  return at === -1 ? -1 : at + token.length;
}

/** Skip `<!DOCTYPE …>` including an internal subset in brackets. */
function skipDeclaration(text: string, from: number): number {
  const close = text.indexOf('>', from);
  const open = text.indexOf('[', from);
  if (open !== -1 && (close === -1 || open < close)) {
    const end = text.indexOf(']', open);
    return end === -1 ? -1 : skipPast(text, '>', end);
  }
  return close === -1 ? -1 : close + 1;
}

/**
 * Reject what entity processing would be needed for (billion laughs, XXE) and documents past the depth
 * or element limits, in one linear scan before any parser builds a tree. Only markup counts: an entity
 * declaration quoted in CDATA or a comment (a blog post about XXE) is text.
 */
export function assertSafeXml(text: string): void {
  let depth = 0;
  let elements = 0;
  let i = text.indexOf('<');
  const n = text.length;
  while (i !== -1 && i < n) {
    const next = text[i + 1];
    let end: number;
    if (next === '?') end = skipPast(text, '?>', i + 2);
    else if (text.startsWith('<!--', i)) end = skipPast(text, '-->', i + 4);
    else if (text.startsWith('<![CDATA[', i)) end = skipPast(text, ']]>', i + 9);
    else if (next === '!') end = markupDeclarationEnd(text, i);
    else if (next === '/') {
      depth--;
      end = skipPast(text, '>', i + 2);
    } else {
      end = endOfTag(text, i + 1);
      if (end !== -1 && text[end - 2] !== '/') {
        depth++;
        if (depth > XML_LIMITS.maxDepth)
          throw new DocumentError(`XML nested deeper than ${XML_LIMITS.maxDepth} elements`);
      }
      if (++elements > XML_LIMITS.maxElements)
        throw new DocumentError(`XML has more than ${XML_LIMITS.maxElements} elements`);
    }
    if (end === -1) return; // unterminated: the parser reports where
    i = text.indexOf('<', end);
  }
}

/**
 * Where scanning resumes after `<!…`: inside a DOCTYPE's internal subset, so the declarations in it are
 * scanned one by one; an entity declaration anywhere is refused.
 */
function markupDeclarationEnd(text: string, from: number): number {
  const keyword = /^<!([A-Za-z]+)/.exec(text.slice(from, from + 12))?.[1]?.toUpperCase();
  if (keyword === 'ENTITY')
    throw new DocumentError(
      'XML with a DOCTYPE that declares entities is rejected (entity expansion and external entities are never processed)',
    );
  if (keyword === 'DOCTYPE') {
    const close = endOfTag(text, from + 2);
    const open = text.indexOf('[', from);
    return open !== -1 && (close === -1 || open < close) ? open + 1 : close;
  }
  return endOfTag(text, from + 2);
}

/** Index just past the `>` closing a start tag, skipping quoted attribute values. */
function endOfTag(text: string, from: number): number {
  let quote = '';
  for (let j = from; j < text.length; j++) {
    const c = text[j];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return j + 1;
    else if (c === '<') return j;
  }
  return -1;
}

/**
 * Decode, check and parse an XML document into a plain tree: namespace prefixes dropped, attributes as
 * `@name`, text as `#text`, CDATA as `#cdata`. Throws DocumentError for oversize, hostile or malformed
 * documents.
 *
 * @example parseXmlDocument(new TextEncoder().encode('<a><b x="1">t</b></a>')) // { a: { b: { '#text': 't', '@x': '1' } } }
 */
export function parseXmlDocument(
  input: Uint8Array,
  expect?: { roots: readonly string[]; what: string },
): Record<string, unknown> {
  if (input.byteLength > XML_LIMITS.maxBytes)
    throw new DocumentError(
      `XML document of ${input.byteLength} bytes exceeds the ${XML_LIMITS.maxBytes}-byte limit`,
    );
  // White space before the XML declaration (a script's stray newline, common in real feeds) is not XML, but
  // it is all that is wrong with such a document: read past it. Anything else before it stays an error.
  const decoded = decodeXmlBytes(input);
  const text = /^\s+<\?xml[\s?]/.test(decoded) ? decoded.trimStart() : decoded;
  assertSafeXml(text);
  const root = rootElementName(text);
  if (expect && !expect.roots.includes(localName(root ?? '')))
    throw new DocumentError(
      `not ${expect.what} (${root === undefined ? 'no XML root element' : `root element <${root}>`})`,
    );
  if (root === undefined) throw new DocumentError('not an XML document: no root element');
  try {
    const tree: unknown = parser.parse(text, true);
    if (typeof tree !== 'object' || tree === null) throw new Error('empty document');
    return tree as Record<string, unknown>;
  } catch (error) {
    if (error instanceof DocumentError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DocumentError(`not well-formed XML: ${reason}`);
  }
}

/** XML feed mappings shipped with the parser, by preset name. */
export const XML_PRESETS: Readonly<Record<XmlPresetName, FieldMappingInput>> = {
  // STIX 1.x packages: every CybOX object's address, domain, URI, hostname, hash, mutex and file name.
  stix1: {
    recordPath: '..Object[*]',
    fields: [
      { path: 'Properties.Address_Value', typePath: 'Properties.@category' },
      { path: 'Properties.Value', typePath: 'Properties.@type' },
      { path: 'Properties.Hostname_Value', type: 'domain' },
      { path: 'Properties.Hashes.Hash[*].Simple_Hash_Value', typePath: 'Properties.Hashes.Hash[*].Type' },
      { path: 'Properties.Name', typePath: 'Properties.@type' },
      { path: 'Properties.File_Name', type: 'filename' },
    ],
    typeMap: {
      'ipv4-addr': 'ipv4',
      'ipv6-addr': 'ipv6',
      'ipv4-net': 'cidr',
      'e-mail': 'email',
      asn: 'asn',
      DomainNameObjectType: 'domain',
      URIObjectType: 'url',
      MutexObjectType: 'mutex',
      SSDEEP: 'ssdeep',
    },
    idPath: '@id',
  },
};

/**
 * The mapping used when a feed gives none: `<indicators><indicator id type confidence><value>…` (see
 * samples/indicators.xml); STIX 1.x packages get the `stix1` preset.
 */
export const DEFAULT_XML_MAPPING: FieldMappingInput = {
  recordPath: 'indicators.indicator[*]',
  fields: [{ path: 'value', typePath: '@type', type: 'auto' }],
  idPath: '@id',
  firstSeenPath: 'firstSeen',
  lastSeenPath: 'lastSeen',
  namesPath: 'name[*]',
  labelsPath: 'label[*]',
  confidencePath: '@confidence',
};

function mappingFor(tree: Record<string, unknown>, options: ParseOptions): FieldMappingInput {
  const preset = options.preset ?? options.feedConfig?.preset;
  if (preset !== undefined) {
    if (!(XML_PRESET_NAMES as readonly string[]).includes(preset))
      throw new DocumentError(
        `unknown XML preset '${preset}'; expected one of ${XML_PRESET_NAMES.join(', ')}`,
      );
    return XML_PRESETS[preset as XmlPresetName];
  }
  if (options.feedConfig?.xml) return options.feedConfig.xml;
  return 'STIX_Package' in tree ? XML_PRESETS.stix1 : DEFAULT_XML_MAPPING;
}

const HTML_ROOTS = new Set(['html', 'head', 'body']);

/** Generic XML feeds, parsed safely, records and fields picked by the feed's `xml` mapping or a preset. */
export const xmlParser: FormatParser = {
  format: 'xml',
  // HTML pages served where a feed was expected fall through to text.
  detect: (head) => {
    const root = rootElementName(head);
    return root !== undefined && !HTML_ROOTS.has(root.toLowerCase());
  },
  parse: (input, options) => {
    const tree = parseXmlDocument(input);
    const mapping = compileMapping(mappingFor(tree, options), 'xml');
    return mappedEvents(tree, mapping, options, 'xml');
  },
};
