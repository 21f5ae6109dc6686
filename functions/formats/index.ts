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
  return { format: chosen, events: parserFor(chosen).parse(input, options) };
}
