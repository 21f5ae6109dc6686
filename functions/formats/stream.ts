import type { Format } from '../domain/indicator.ts';
import { type OpenDocument, readAll, readHead } from './chunks.ts';
import { detectFormat, parserFor } from './index.ts';
import type { ParseEvent, ParseOptions } from './types.ts';

export { type OpenDocument, openBytes, readAll, readHead } from './chunks.ts';

/** Bytes a format guess reads: as many as `detectFormat` looks at. */
const HEAD_BYTES = 8192;

/**
 * Parse a document read in chunks, never holding it whole when its format has a streaming parser
 * (`parseStream`): the events are the ones `parseDocument` gives for the same bytes. Formats without one
 * are buffered and parsed as usual. `format: 'auto'` reads the first 8 KiB to detect it.
 *
 * @example
 * const { events } = await parseDocumentStream(openBytes(bytes, 65536), 'stix', { feedId: 'f', receivedAt });
 * for await (const event of events) if (event.kind === 'indicator') send(event.indicator);
 */
export async function parseDocumentStream(
  open: OpenDocument,
  format: Format | 'auto',
  options: ParseOptions,
): Promise<{ format: Format; events: AsyncIterable<ParseEvent> }> {
  const chosen = format === 'auto' ? detectFormat(await readHead(open, HEAD_BYTES)) : format;
  const parser = parserFor(chosen);
  const events = parser.parseStream
    ? parser.parseStream(open, options)
    : bufferedEvents(open, (bytes) => parser.parse(bytes, options));
  return { format: chosen, events };
}

async function* bufferedEvents(
  open: OpenDocument,
  parse: (bytes: Uint8Array) => Iterable<ParseEvent>,
): AsyncGenerator<ParseEvent> {
  yield* parse(await readAll(open()));
}
