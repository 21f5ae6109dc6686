import type { FeedConfig } from '../domain/feed-config.ts';
import type { Format, Indicator } from '../domain/indicator.ts';

/** What every parser is told about the document it reads. No clock, no env: the caller supplies both. */
export interface ParseOptions {
  feedId: string;
  /** ISO timestamp the document was received at (the source's `receivedAt`). */
  receivedAt: string;
  documentId?: string | undefined;
  /** A named preset (CSV: urlhaus, feodotracker, threatfox, sslbl, plain). */
  preset?: string | undefined;
  feedConfig?: FeedConfig | undefined;
}

/** A source record that could not become an indicator, with why. */
export interface QuarantineRecord {
  reason: string;
  objectId?: string | undefined;
  /** Where the record sits in its document (JSON pointer, `line:N`, `offset:N`). */
  rawRef?: string | undefined;
  type?: string | undefined;
  value?: string | undefined;
  /** The offending object or a short excerpt of it. */
  raw?: unknown;
}

/** A source record deliberately not turned into indicators (deleted, non-STIX pattern, filtered), counted. */
export interface SkippedRecord {
  reason: string;
  objectId?: string | undefined;
  rawRef?: string | undefined;
}

/**
 * One outcome of parsing. Every record of a document yields exactly one event, so
 * records = indicators + quarantined + skipped holds for every parse.
 */
export type ParseEvent =
  | { kind: 'indicator'; indicator: Indicator }
  | { kind: 'quarantine'; record: QuarantineRecord }
  | { kind: 'skip'; record: SkippedRecord };

/** A parser for one format. Pure: bytes in, events out; throws only `DocumentError` for an unreadable document. */
export interface FormatParser {
  format: Format;
  /** True when the start of a document (decoded as UTF-8, a few KiB at most) looks like this format. */
  detect?: (head: string) => boolean;
  parse: (input: Uint8Array, options: ParseOptions) => Iterable<ParseEvent>;
  /**
   * Parse a document too big to hold, read from `open()` in chunks. `open` may be called more than once
   * (a first pass collects the small context, the next streams the big arrays); the events equal `parse`'s.
   */
  parseStream?: (open: () => AsyncIterable<Uint8Array>, options: ParseOptions) => AsyncIterable<ParseEvent>;
}

/** The whole document cannot be read as the format (bad JSON, not XML, hostile XML). */
export class DocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentError';
  }
}

/** Counts of a parse, as the CLI and the ledger report them. */
export interface ParseSummary {
  records: number;
  indicators: number;
  quarantined: number;
  skipped: number;
}

export function emptySummary(): ParseSummary {
  return { records: 0, indicators: 0, quarantined: 0, skipped: 0 };
}

/** Add one event to a summary. */
export function count(summary: ParseSummary, event: ParseEvent): void {
  summary.records++;
  if (event.kind === 'indicator') summary.indicators++;
  else if (event.kind === 'quarantine') summary.quarantined++;
  else summary.skipped++;
}
