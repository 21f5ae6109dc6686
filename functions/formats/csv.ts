import { CsvError, parse as parseCsvSync } from 'csv-parse/sync';
import type { IndicatorDraft } from '../domain/build.ts';
import {
  type ColumnRef,
  CSV_PRESET_NAMES,
  type CsvMapping,
  type CsvPresetName,
} from '../domain/feed-config.ts';
import type { IndicatorType } from '../domain/indicator.ts';
import { decodeUtf8, feedDefaults, sourceOf } from './common.ts';
import { CSV_PRESETS, type CsvPreset, sniffCsvPreset } from './csv-presets.ts';
import {
  draftEvent,
  excerpt,
  guessValueType,
  resolveType,
  splitHostPort,
  splitList,
  toConfidence,
  toIsoTimestamp,
} from './record-fields.ts';
import { DocumentError, type FormatParser, type ParseEvent, type ParseOptions } from './types.ts';

type Filled =
  | 'mode'
  | 'delimiter'
  | 'quote'
  | 'comment'
  | 'header'
  | 'headerInComment'
  | 'columns'
  | 'typeMap'
  | 'listSeparator'
  | 'contextColumns';

/** A CSV mapping with every default filled in. */
export type ResolvedCsvMapping = { [K in Filled]-?: NonNullable<CsvMapping[K]> } & Omit<
  CsvMapping,
  Filled
> & {
    cleanName?: CsvPreset['cleanName'];
  };

const DEFAULTS = {
  mode: 'columns',
  delimiter: ',',
  quote: '"',
  comment: '#',
  header: true,
  headerInComment: false,
  columns: [],
  typeMap: {},
  listSeparator: ',',
  contextColumns: [],
} as const;

/** Header names that say what a column holds, for CSVs read without a preset or mapping. */
const HEADER_TYPES: Readonly<Record<string, IndicatorType | 'auto'>> = {
  ip: 'ipv4',
  ipv4: 'ipv4',
  ip_address: 'ipv4',
  ipaddress: 'ipv4',
  'ip-dst': 'ipv4',
  'ip-src': 'ipv4',
  dst_ip: 'ipv4',
  src_ip: 'ipv4',
  ipv6: 'ipv6',
  cidr: 'cidr',
  netblock: 'cidr',
  domain: 'domain',
  hostname: 'domain',
  url: 'url',
  uri: 'url',
  email: 'email',
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
  sha512: 'sha512',
  ssdeep: 'ssdeep',
  ja3: 'ja3',
  ja3_md5: 'ja3',
  cve: 'cve',
  asn: 'asn',
  filename: 'filename',
  indicator: 'auto',
  ioc: 'auto',
};

/** Past this many malformed rows the delimiter or quote is wrong, not a few rows. */
const MAX_MALFORMED_ROWS = 100;
const MAX_RECORD_CHARS = 1_000_000;

/** One row of cells, with the line it ends on (1-based). */
export interface CsvRow {
  kind: 'row';
  line: number;
  cells: string[];
}
/** A row the CSV reader could not split into cells. */
export interface CsvRowError {
  kind: 'error';
  line: number;
  reason: string;
  raw?: string | undefined;
}

export interface Dialect {
  delimiter: string;
  quote: string;
  comment: string;
}

/**
 * The mapping a parse uses: the preset named by the options or the feed config (or recognized from the
 * document's first lines), overridden key by key by the feed config's `csv` block, defaults filled.
 *
 * @example resolveCsvMapping({ feedId: 'f', receivedAt: '2024-01-01T00:00:00Z', preset: 'urlhaus' }).headerInComment // true
 */
export function resolveCsvMapping(options: ParseOptions, head = ''): ResolvedCsvMapping {
  const overrides = options.feedConfig?.csv ?? {};
  const named = options.preset ?? options.feedConfig?.preset;
  const explicit =
    overrides.mode !== undefined ||
    (overrides.columns?.length ?? 0) > 0 ||
    overrides.typeColumn !== undefined ||
    overrides.valueColumn !== undefined;
  let preset: CsvPreset | undefined;
  if (named !== undefined) {
    if (!(CSV_PRESET_NAMES as readonly string[]).includes(named))
      throw new DocumentError(
        `unknown CSV preset '${named}'; expected one of ${CSV_PRESET_NAMES.join(', ')}`,
      );
    preset = CSV_PRESETS[named as CsvPresetName];
  } else if (!explicit) {
    const sniffed = sniffCsvPreset(head);
    if (sniffed) preset = CSV_PRESETS[sniffed];
  }
  const resolved = {
    ...DEFAULTS,
    ...preset?.mapping,
    ...definedOnly(overrides),
  } as ResolvedCsvMapping;
  if (preset?.cleanName) resolved.cleanName = preset.cleanName;
  return resolved;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Parse a CSV feed (or a one-value-per-line list with the `plain` preset). Ragged rows, BOMs and CRLF are
 * read; a row that cannot be split or mapped becomes a quarantine record with its `line:N`. Throws
 * DocumentError only when the document as a whole cannot be mapped (no header where one is needed, no
 * mapped column in it, an unknown preset, too many malformed rows).
 *
 * @example [...parseCsv('url\nhttp://evil.example.com/x\n', options)].length // 1
 */
export function parseCsv(text: string, options: ParseOptions): Iterable<ParseEvent> {
  const mapping = resolveCsvMapping(options, text.slice(0, 8192));
  if (mapping.mode === 'lines') return lineEvents(text, mapping, options);
  const dialect: Dialect = { delimiter: mapping.delimiter, quote: mapping.quote, comment: mapping.comment };
  const normalized = text.replace(/\r\n?/g, '\n');
  let header: string[] | undefined;
  if (mapping.header && mapping.headerInComment) {
    header = commentHeader(normalized, dialect);
    if (!header)
      throw new DocumentError(
        `expected the CSV header in a '${dialect.comment}' comment line (such as '${dialect.comment} id,dateadded,url') before the data`,
      );
  }
  const items = readCsvRows(blankComments(normalized, dialect.comment), dialect);
  let start = 0;
  if (mapping.header && !mapping.headerInComment) {
    const first = items[0];
    if (first?.kind === 'error') throw new DocumentError(`cannot read the CSV header row: ${first.reason}`);
    header = first?.cells.map((c) => c.trim());
    start = 1;
  }
  const plan = planRows(header, mapping);
  return rowsToEvents(items, start, plan, options);
}

export function* rowsToEvents(
  items: (CsvRow | CsvRowError)[],
  start: number,
  plan: RowPlan,
  options: ParseOptions,
): Generator<ParseEvent> {
  for (let i = start; i < items.length; i++) {
    const item = items[i] as CsvRow | CsvRowError;
    if (item.kind === 'error') {
      yield {
        kind: 'quarantine',
        record: { reason: item.reason, rawRef: `line:${item.line}`, raw: item.raw },
      };
    } else yield* rowEvents(item, plan, options);
  }
}

/** Lines that start with the comment prefix become empty, so line numbers stay true. */
export function blankComments(text: string, comment: string): string {
  const pattern = new RegExp(`^[ \\t]*${escapeRegExp(comment)}.*$`, 'gm');
  return text.replace(pattern, '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The last comment line before the first data row that holds the delimiter, split into column names. */
export function commentHeader(text: string, dialect: Dialect): string[] | undefined {
  let candidate: string | undefined;
  let from = 0;
  while (from < text.length) {
    const end = text.indexOf('\n', from);
    const line = (end === -1 ? text.slice(from) : text.slice(from, end)).replace(/^\uFEFF/, '').trim();
    from = end === -1 ? text.length : end + 1;
    if (line.length === 0) continue;
    if (!line.startsWith(dialect.comment)) break;
    const body = line.slice(dialect.comment.length).trim();
    if (body.includes(dialect.delimiter)) candidate = body;
  }
  if (candidate === undefined) return undefined;
  const row = readCsvRows(candidate, dialect)[0];
  return row?.kind === 'row' ? row.cells.map((c) => c.trim()) : undefined;
}

/** A document read piece by piece (csv-stream.ts): what carries from one piece to the next. */
export interface CsvPieceState {
  /** Lines before this piece. */
  lineBase: number;
  malformed: number;
  /** False while more text follows: a quoted value left open at the end is read again with the next piece. */
  final: boolean;
  /** Set on return: how much of the piece was read (the rest starts the next piece). */
  consumed: number;
}

/**
 * Split CSV text into rows with csv-parse's sync API. A malformed row becomes an error item and reading
 * resumes on the next line; csv-stream.ts feeds it a document piece by piece through `piece`.
 */
export function readCsvRows(
  text: string,
  dialect: Omit<Dialect, 'comment'>,
  piece?: CsvPieceState,
): (CsvRow | CsvRowError)[] {
  const items: (CsvRow | CsvRowError)[] = [];
  let offset = 0;
  let lineBase = piece?.lineBase ?? 0;
  let malformed = piece?.malformed ?? 0;
  let consumed = text.length;
  while (offset < text.length) {
    const chunk = offset === 0 ? text : text.slice(offset);
    let recordLines = 0;
    try {
      parseCsvSync(chunk, {
        delimiter: dialect.delimiter,
        quote: dialect.quote === '' ? false : dialect.quote,
        bom: true,
        trim: true,
        relax_quotes: true,
        relax_column_count: true,
        skip_empty_lines: true,
        max_record_size: MAX_RECORD_CHARS,
        on_record: (record: string[], context: { lines: number }) => {
          recordLines = context.lines;
          items.push({ kind: 'row', line: lineBase + context.lines, cells: record });
          return null;
        },
      });
      break;
    } catch (error) {
      if (!(error instanceof CsvError))
        throw new DocumentError(`cannot read CSV: ${(error as Error).message}`);
      if (error.code.startsWith('CSV_INVALID_OPTION') || error.code.startsWith('CSV_OPTION'))
        throw new DocumentError(`invalid CSV dialect: ${error.message}`);
      if (piece && !piece.final && error.code === 'CSV_QUOTE_NOT_CLOSED') {
        consumed = offsetAfterLines(text, offset, recordLines);
        break;
      }
      if (++malformed > MAX_MALFORMED_ROWS)
        throw new DocumentError(
          `more than ${MAX_MALFORMED_ROWS} malformed CSV rows; check the delimiter and quote settings`,
        );
      const errorLines = Math.max(1, (error as CsvError & { lines?: number }).lines ?? 1);
      const next = offsetAfterLines(text, offset, errorLines);
      const raw = text.slice(lineStart(text, next), next).replace(/\n$/, '');
      items.push({
        kind: 'error',
        line: lineBase + errorLines,
        reason: `malformed CSV row: ${error.message.replace(/ at line \d+/, '')}`,
        raw: excerpt(raw, 300) as string,
      });
      lineBase += errorLines;
      offset = next;
    }
  }
  if (piece) {
    piece.malformed = malformed;
    piece.consumed = consumed;
  }
  return items;
}

/** The offset just past `lines` newlines counted from `from`. */
function offsetAfterLines(text: string, from: number, lines: number): number {
  let offset = from;
  for (let n = 0; n < lines; n++) {
    const next = text.indexOf('\n', offset);
    if (next === -1) return text.length;
    offset = next + 1;
  }
  return offset;
}

/** The start of the line that ends just before `end`. */
function lineStart(text: string, end: number): number {
  const last = text.lastIndexOf('\n', Math.max(0, end - 2));
  return last === -1 ? 0 : last + 1;
}

interface ValueColumn {
  index: number;
  name: string;
  type: IndicatorType | 'auto';
}

/** Column indexes resolved against the header once, used for every row. */
export interface RowPlan {
  valueColumns: ValueColumn[];
  typed?: { typeIndex: number; valueIndex: number; typeName: string; valueName: string } | undefined;
  typeMap: Record<string, IndicatorType>;
  multiValueSeparator?: string | undefined;
  listSeparator: string;
  context: { index: number; name: string }[];
  firstSeen: number[];
  lastSeen: number[];
  names: number[];
  labels: number[];
  confidence?: number | undefined;
  id?: number | undefined;
  cleanName?: CsvPreset['cleanName'];
}

/**
 * Resolve a mapping against a header (or column indexes). Named columns the header lacks are ignored,
 * but a mapping that finds no value column at all is a DocumentError naming the header it saw.
 *
 * @example planRows(['md5', 'sha1'], resolveCsvMapping(options)).valueColumns.length // 2
 */
export function planRows(header: string[] | undefined, mapping: ResolvedCsvMapping): RowPlan {
  const find = (ref: ColumnRef): number | undefined => {
    if (typeof ref === 'number') return ref;
    if (!header)
      throw new DocumentError(`column '${ref}' is named but the CSV has no header; use a column index`);
    const wanted = ref.trim().toLowerCase();
    const index = header.findIndex((h) => h.trim().toLowerCase() === wanted);
    return index === -1 ? undefined : index;
  };
  const nameOf = (index: number) => header?.[index] ?? `column${index}`;
  const many = (refs: ColumnRef | ColumnRef[] | undefined): number[] =>
    (refs === undefined ? [] : Array.isArray(refs) ? refs : [refs])
      .map(find)
      .filter((i): i is number => i !== undefined);

  let columns = mapping.columns;
  const typedRefs = mapping.typeColumn !== undefined && mapping.valueColumn !== undefined;
  if (columns.length === 0 && !typedRefs && header) {
    columns = header.flatMap((h) => {
      const type = HEADER_TYPES[h.trim().toLowerCase()];
      return type ? [{ column: h, type }] : [];
    });
  }
  const valueColumns: ValueColumn[] = [];
  for (const c of columns) {
    const index = find(c.column);
    if (index !== undefined) valueColumns.push({ index, name: nameOf(index), type: c.type });
  }
  let typed: RowPlan['typed'];
  if (typedRefs) {
    const typeIndex = find(mapping.typeColumn as ColumnRef);
    const valueIndex = find(mapping.valueColumn as ColumnRef);
    if (typeIndex === undefined || valueIndex === undefined)
      throw new DocumentError(
        `the CSV header has no ${typeIndex === undefined ? `type column '${mapping.typeColumn}'` : `value column '${mapping.valueColumn}'`}; header: ${header?.join(', ')}`,
      );
    typed = { typeIndex, valueIndex, typeName: nameOf(typeIndex), valueName: nameOf(valueIndex) };
  }
  if (valueColumns.length === 0 && !typed) {
    const wanted = mapping.columns.map((c) => String(c.column));
    throw new DocumentError(
      wanted.length > 0
        ? `none of the mapped columns (${wanted.join(', ')}) is in the CSV header: ${header?.join(', ')}`
        : `no column mapping for this CSV: give --preset (${CSV_PRESET_NAMES.join(', ')}) or a feed config csv mapping${header ? `; header: ${header.join(', ')}` : ''}`,
    );
  }
  const one = (ref: ColumnRef | undefined) => (ref === undefined ? undefined : find(ref));
  return {
    valueColumns,
    typed,
    typeMap: mapping.typeMap,
    multiValueSeparator: mapping.multiValueSeparator,
    listSeparator: mapping.listSeparator,
    context: many(mapping.contextColumns).map((index) => ({ index, name: nameOf(index) })),
    firstSeen: many(mapping.firstSeenColumn),
    lastSeen: many(mapping.lastSeenColumn),
    names: many(mapping.namesColumn),
    labels: many(mapping.labelsColumn),
    confidence: one(mapping.confidenceColumn),
    id: one(mapping.idColumn),
    cleanName: mapping.cleanName,
  };
}

/**
 * The events of one row: one per value (several with multi-value cells or several value columns), or one
 * quarantine record saying why the row gave none.
 *
 * @example rowEvents({ kind: 'row', line: 2, cells: ['1.2.3.4'] }, plan, options)[0]?.kind // 'indicator'
 */
export function rowEvents(row: CsvRow, plan: RowPlan, options: ParseOptions): ParseEvent[] {
  const cell = (index: number) => (row.cells[index] ?? '').trim();
  const rawRef = `line:${row.line}`;
  const quarantine = (reason: string, type?: string, value?: string): ParseEvent => ({
    kind: 'quarantine',
    record: { reason, rawRef, type, value, raw: excerpt(row.cells) },
  });
  const candidates: { type: IndicatorType | 'auto'; value: string; column: string }[] = [];
  if (plan.typed) {
    const typeText = cell(plan.typed.typeIndex);
    const value = cell(plan.typed.valueIndex);
    if (value === '') return [quarantine(`empty value in column ${plan.typed.valueName}`)];
    const type = resolveType(typeText, plan.typeMap);
    if (!type)
      return [
        quarantine(
          `unknown indicator type '${typeText}' in column ${plan.typed.typeName}`,
          typeText || undefined,
          value,
        ),
      ];
    candidates.push({ type, value, column: plan.typed.valueName });
  } else {
    for (const column of plan.valueColumns) {
      const text = cell(column.index);
      if (text === '') continue;
      const values = plan.multiValueSeparator ? splitList(text, plan.multiValueSeparator) : [text];
      for (const value of values) candidates.push({ type: column.type, value, column: column.name });
    }
    if (candidates.length === 0)
      return [quarantine(`no value in column ${plan.valueColumns.map((c) => c.name).join(' or ')}`)];
  }

  const defaults = feedDefaults(options);
  const context: Record<string, unknown> = {};
  for (const { index, name } of plan.context) {
    const text = cell(index);
    if (text !== '') context[name] = text;
  }
  const firstSeenText = firstNonEmpty(plan.firstSeen, cell);
  const lastSeenText = firstNonEmpty(plan.lastSeen, cell);
  const firstSeen = toIsoTimestamp(firstSeenText);
  const lastSeen = toIsoTimestamp(lastSeenText);
  if (firstSeenText && !firstSeen) context['unreadableFirstSeen'] = firstSeenText;
  if (lastSeenText && !lastSeen) context['unreadableLastSeen'] = lastSeenText;
  const names = plan.names
    .flatMap((i) => splitList(cell(i), plan.listSeparator))
    .flatMap((n) => {
      const cleaned = plan.cleanName ? plan.cleanName(n) : n;
      return cleaned ? [cleaned] : [];
    });
  const labels = [
    ...(defaults.labels ?? []),
    ...plan.labels.flatMap((i) => splitList(cell(i), plan.listSeparator)),
  ];
  const confidence =
    (plan.confidence !== undefined ? toConfidence(cell(plan.confidence)) : undefined) ?? defaults.confidence;
  const objectId = plan.id !== undefined ? cell(plan.id) || undefined : undefined;

  return candidates.map(({ type, value, column }) => {
    const resolved = type === 'auto' ? guessValueType(value) : type;
    if (!resolved)
      return quarantine(`cannot tell the indicator type of '${value}' in column ${column}`, undefined, value);
    const draft: IndicatorDraft = {
      type: resolved,
      value,
      source: sourceOf('csv', options, objectId, rawRef),
      confidence,
      tlp: defaults.tlp,
      labels,
      names,
      firstSeen,
      lastSeen,
      context: { ...context },
    };
    withPortSplit(draft);
    return draftEvent(draft, options, rawRef);
  });
}

/** `1.2.3.4:443` in an IP column: the address is the indicator, the port goes to context. */
function withPortSplit(draft: IndicatorDraft): void {
  if (draft.type !== 'ipv4' && draft.type !== 'ipv6') return;
  const split = splitHostPort(draft.value);
  if (!split) return;
  draft.value = split.host;
  draft.context = { ...draft.context, port: split.port };
}

function firstNonEmpty(indexes: number[], cell: (i: number) => string): string | undefined {
  for (const i of indexes) {
    const text = cell(i);
    if (text !== '') return text;
  }
  return undefined;
}

/**
 * One value per line (Spamhaus DROP, DShield, OpenPhish): `#` and `;` comment lines, a trailing
 * `; comment` kept as context, the type of each value detected unless the mapping's first column fixes it.
 */
function* lineEvents(
  text: string,
  mapping: ResolvedCsvMapping,
  options: ParseOptions,
): Generator<ParseEvent> {
  const read = lineReader(mapping, options);
  for (const rawLine of text.split(/\r\n|\n|\r/)) {
    const event = read(rawLine);
    if (event) yield event;
  }
}

/**
 * The reader of one-value-per-line lists: call it with each line in order; it gives the line's event, or
 * undefined for a blank or comment line.
 *
 * @example lineReader(resolveCsvMapping({ ...options, preset: 'plain' }), options)('198.51.100.0/24 ; SBL1')?.kind // 'indicator'
 */
export function lineReader(
  mapping: ResolvedCsvMapping,
  options: ParseOptions,
): (rawLine: string) => ParseEvent | undefined {
  const prefixes = [mapping.comment, ';'];
  const first = mapping.columns[0]?.type;
  const fixedType = first && first !== 'auto' ? first : undefined;
  const defaults = feedDefaults(options);
  let line = 0;
  let seenData = false;
  return (rawLine) => {
    line++;
    const trimmed = rawLine.replace(/^\uFEFF/, '').trim();
    if (trimmed === '' || prefixes.some((p) => trimmed.startsWith(p))) return undefined;
    const rawRef = `line:${line}`;
    const commentAt = /\s+[;#]\s*/.exec(trimmed);
    const body = commentAt ? trimmed.slice(0, commentAt.index) : trimmed;
    const comment = commentAt ? trimmed.slice(commentAt.index + commentAt[0].length).trim() : '';
    const [value = '', ...rest] = body.split(/\s+/);
    const type = fixedType ?? guessValueType(value);
    if (!seenData && !type && /^[A-Za-z][A-Za-z_ -]*$/.test(body)) {
      seenData = true;
      return { kind: 'skip', record: { reason: `header row '${body}'`, rawRef } };
    }
    seenData = true;
    if (!type) {
      return {
        kind: 'quarantine',
        record: {
          reason: `cannot tell the indicator type of '${value}'`,
          value,
          rawRef,
          raw: excerpt(rawLine),
        },
      };
    }
    const context: Record<string, unknown> = {};
    if (comment !== '') context['comment'] = comment;
    if (rest.length > 0) context['columns'] = rest;
    const draft: IndicatorDraft = {
      ...defaults,
      type,
      value,
      source: sourceOf('csv', options, undefined, rawRef),
      context,
    };
    withPortSplit(draft);
    return draftEvent(draft, options, rawRef);
  };
}

/** CSV feeds: presets for abuse.ch and line lists, or a feed config mapping. */
/** Fields of one CSV line, split on commas outside double quotes (a detection heuristic, not the parser). */
function fieldCount(line: string): number {
  let fields = 1;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) fields++;
  }
  return fields;
}

const HEADER_FIELD = /^\s*"?[A-Za-z_][\w .()/-]{0,63}"?\s*$/;

/**
 * Is the start of a document CSV? A built-in preset's signature (header or comment banner), or a header
 * line of 2+ column names (after any `#` comment banner, itself possibly holding the header) followed by
 * rows with the same number of fields. Prose with commas does not keep one field count line after line.
 *
 * @example detectCsv('"first_seen_utc","dst_ip","dst_port"\n"2024-01-01","192.0.2.1","443"') // true
 */
export function detectCsv(head: string): boolean {
  if (sniffCsvPreset(head) !== undefined) return true;
  const lines = head.split(/\r?\n/).slice(0, 40);
  // The last comment line before the data may be the header (`# id,dateadded,url`).
  let header: string | undefined;
  const rows: string[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      if (rows.length === 0 && header === undefined) {
        const candidate = line.replace(/^#\s*/, '');
        if (fieldCount(candidate) >= 2 && candidate.split(',').every((f) => HEADER_FIELD.test(f)))
          header = candidate;
      }
      continue;
    }
    if (header === undefined) {
      header = line;
      continue;
    }
    rows.push(line);
  }
  // A head cut mid-line: the last row may be partial.
  const complete = head.endsWith('\n') ? rows : rows.slice(0, -1);
  if (header === undefined || complete.length < 2) return false;
  const columns = fieldCount(header);
  if (columns < 2 || !header.split(',').every((f) => HEADER_FIELD.test(f))) return false;
  return complete.every((row) => fieldCount(row) === columns);
}

export const csvParser: FormatParser = {
  format: 'csv',
  detect: detectCsv,
  parse: (input, options) => parseCsv(decodeUtf8(input), options),
};
