import type { Format } from '../domain/indicator.ts';
import { csvParser } from './csv.ts';
import { parseCsvStream } from './csv-stream.ts';
import { jsonParser } from './json.ts';
import { mispFeedParser, mispParser } from './misp/index.ts';
import { rssParser } from './rss.ts';
import { stixParser } from './stix/index.ts';
import { parseStixStream } from './stix/stream.ts';
import { textParser } from './text.ts';
import { DocumentError, type FormatParser, type ParseEvent, type ParseOptions } from './types.ts';
import { xmlParser } from './xml.ts';

export * from './types.ts';

/**
 * Every parser by format. Adding a format is one line here plus its file; `--format auto` asks each
 * parser with a `detect` in DETECT_ORDER and falls back to text.
 */
const PARSERS: Partial<Record<Format, FormatParser>> = {
  text: textParser,
  stix: { ...stixParser, parseStream: parseStixStream },
  csv: { ...csvParser, parseStream: (open, options) => parseCsvStream(open, options) },
  json: jsonParser,
  xml: xmlParser,
  rss: rssParser,
  misp: mispParser,
  'misp-feed': mispFeedParser,
};

/** Structured formats first, most specific first; text is the fallback. */
const DETECT_ORDER: readonly Format[] = ['stix', 'misp', 'rss', 'xml', 'json', 'csv'];

/** The formats this build can parse. */
export function supportedFormats(): Format[] {
  return Object.keys(PARSERS) as Format[];
}

/** The parser for a format, or a DocumentError naming the ones there are. */
export function parserFor(format: Format): FormatParser {
  const parser = PARSERS[format];
  if (!parser)
    throw new DocumentError(`no parser for format ${format}; supported: ${supportedFormats().join(', ')}`);
  return parser;
}

/** Guess a document's format from its first bytes: a structured format that recognizes it, else text. */
export function detectFormat(input: Uint8Array): Format {
  const head = new TextDecoder('utf-8').decode(input.subarray(0, 8192)).replace(/^\uFEFF/, '');
  for (const format of DETECT_ORDER) {
    if (PARSERS[format]?.detect?.(head)) return format;
  }
  return 'text';
}

const WARNING_LIST_HEAD = /^\s*\{[\s\S]{0,4000}"(?:matching_attributes|list)"\s*:/;

/**
 * A MISP warning list (`{"name", "type", "list": […], "matching_attributes": […]}`) is a list of known-benign
 * values, not intelligence: reading it as text or JSON would emit google.com and 8.8.8.8 as indicators. It is
 * refused as a whole, naming what it is; warning lists belong to the validate stage's rule sets.
 */
function refuseWarningList(input: Uint8Array): void {
  const head = new TextDecoder('utf-8').decode(input.subarray(0, 4096));
  if (!WARNING_LIST_HEAD.test(head)) return;
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8').decode(input).replace(/^\uFEFF/, ''));
  } catch {
    return;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return;
  const list = (doc as Record<string, unknown>)['list'];
  const attributes = (doc as Record<string, unknown>)['matching_attributes'];
  const type = (doc as Record<string, unknown>)['type'];
  if (!Array.isArray(list) || !(Array.isArray(attributes) || typeof type === 'string')) return;
  const name = (doc as Record<string, unknown>)['name'];
  throw new DocumentError(
    `this is a MISP warning list${typeof name === 'string' ? ` ("${name}")` : ''} of ${list.length} known-benign values, not a feed of indicators (the validate stage applies warning lists: rule kind warning-list)`,
  );
}

/**
 * Parse a document into events. `format: 'auto'` detects it. Throws DocumentError when the document as a
 * whole cannot be read as the format; bad records inside a readable document become quarantine events.
 */
export function parseDocument(
  input: Uint8Array,
  format: Format | 'auto',
  options: ParseOptions,
): { format: Format; events: Iterable<ParseEvent> } {
  const chosen = format === 'auto' ? detectFormat(input) : format;
  if (chosen === 'text' || chosen === 'json') refuseWarningList(input);
  return { format: chosen, events: parserFor(chosen).parse(input, options) };
}
