import {
  blankComments,
  type CsvPieceState,
  commentHeader,
  type Dialect,
  lineReader,
  planRows,
  type RowPlan,
  readCsvRows,
  resolveCsvMapping,
  rowsToEvents,
} from './csv.ts';
import { DocumentError, type ParseEvent, type ParseOptions } from './types.ts';

/** Text handed to csv-parse at a time; a piece always ends at a line end, never inside a quoted value. */
const PIECE_CHARS = 1 << 20;
/** What the preset sniffer and `parseCsv` look at. */
const HEAD_CHARS = 8192;

/**
 * Parse a CSV (or line list) of any size from chunks, one piece of whole lines at a time, with the same
 * reader, column plan and row code as `parseCsv`, so the events are the same. A quoted value that runs
 * past a piece's end is read again with the next piece. Memory is one piece (about a megabyte).
 *
 * @example for await (const e of parseCsvStream(openBytes(bytes), { ...options, preset: 'urlhaus' })) count(e);
 */
export async function* parseCsvStream(
  open: () => AsyncIterable<Uint8Array>,
  options: ParseOptions,
  pieceChars = PIECE_CHARS,
): AsyncGenerator<ParseEvent> {
  const lines = normalizedText(open());
  // The raw head (before CR LF → LF) is what the buffered parse sniffs the preset from.
  let head = '';
  let text = '';
  let ended = false;
  const more = async (): Promise<boolean> => {
    const next = await lines.next();
    if (next.done) {
      ended = true;
      return false;
    }
    text += next.value.normalized;
    if (head.length < HEAD_CHARS) head += next.value.raw.slice(0, HEAD_CHARS - head.length);
    return true;
  };
  while (head.length < HEAD_CHARS && (await more()));
  const mapping = resolveCsvMapping(options, head);

  if (mapping.mode === 'lines') {
    const read = lineReader(mapping, options);
    for (;;) {
      // Whole lines only until the end; then the rest, its last line counted even when empty, as split does.
      const end = ended ? text.length : text.lastIndexOf('\n');
      if (end >= 0) {
        for (const line of text.slice(0, end).split('\n')) {
          const event = read(line);
          if (event) yield event;
        }
        text = text.slice(end + 1);
      }
      if (ended) return;
      await more();
    }
  }

  const dialect: Dialect = { delimiter: mapping.delimiter, quote: mapping.quote, comment: mapping.comment };
  let header: string[] | undefined;
  if (mapping.header && mapping.headerInComment) {
    while (!ended && !pastComments(text, dialect.comment)) await more();
    header = commentHeader(text, dialect);
    if (!header)
      throw new DocumentError(
        `expected the CSV header in a '${dialect.comment}' comment line (such as '${dialect.comment} id,dateadded,url') before the data`,
      );
  }
  let needHeader = mapping.header && !mapping.headerInComment;
  let plan: RowPlan | undefined = needHeader ? undefined : planRows(header, mapping);
  const state: CsvPieceState = { lineBase: 0, malformed: 0, final: false, consumed: 0 };
  let wanted = pieceChars;
  for (;;) {
    while (!ended && text.length < wanted) await more();
    const cut = ended ? text.length : text.lastIndexOf('\n') + 1;
    if (cut === 0 && !ended) {
      // One line longer than a piece: read on until it ends.
      wanted = text.length + 1;
      continue;
    }
    state.final = ended;
    const piece = blankComments(text.slice(0, cut), dialect.comment);
    const items = readCsvRows(piece, dialect, state);
    let start = 0;
    if (needHeader && items.length > 0) {
      const first = items[0];
      if (first?.kind === 'error') throw new DocumentError(`cannot read the CSV header row: ${first.reason}`);
      header = first?.cells.map((c) => c.trim());
      needHeader = false;
      start = 1;
    }
    if (!needHeader) {
      plan ??= planRows(header, mapping);
      yield* rowsToEvents(items, start, plan, options);
    }
    if (state.final) break;
    state.lineBase += countNewlines(piece, state.consumed);
    // No row read (a quoted value open to the piece's end): read on before trying again.
    wanted = state.consumed === 0 ? text.length + 1 : pieceChars;
    text = piece.slice(state.consumed) + text.slice(cut);
  }
  // A document with no row at all still resolves its plan, so a bad mapping fails as it does buffered.
  if (plan === undefined) planRows(header, mapping);
}

/** True once the text holds a whole line that is neither blank nor a comment (the header search stops there). */
function pastComments(text: string, comment: string): boolean {
  let from = 0;
  for (;;) {
    const end = text.indexOf('\n', from);
    if (end === -1) return false;
    const line = text
      .slice(from, end)
      .replace(/^\uFEFF/, '')
      .trim();
    if (line.length > 0 && !line.startsWith(comment)) return true;
    from = end + 1;
  }
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < end; at = text.indexOf('\n', at + 1)) n++;
  return n;
}

/**
 * Decoded text chunks with CR LF and lone CR turned into LF, as `parseCsv` normalizes them; a CR at a
 * chunk's end waits for the next chunk. A byte-order mark is dropped as `decodeUtf8` drops it.
 */
async function* textChunks(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<{ raw: string; normalized: string }> {
  const decoder = new TextDecoder('utf-8');
  let first = true;
  let pendingCr = false;
  const emit = (raw: string, last: boolean): { raw: string; normalized: string } => {
    let text = (pendingCr ? '\r' : '') + raw;
    pendingCr = !last && text.endsWith('\r');
    if (pendingCr) text = text.slice(0, -1);
    return { raw, normalized: text.replace(/\r\n?/g, '\n') };
  };
  for await (const chunk of chunks) {
    let raw = decoder.decode(chunk, { stream: true });
    if (first && raw.length > 0) {
      if (raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
      first = false;
    }
    if (raw.length > 0) yield emit(raw, false);
  }
  const tail = decoder.decode();
  if (tail.length > 0 || pendingCr) yield emit(tail, true);
}

function normalizedText(
  chunks: AsyncIterable<Uint8Array>,
): AsyncIterator<{ raw: string; normalized: string }> {
  return textChunks(chunks)[Symbol.asyncIterator]();
}
