import { z } from 'zod';
import { textTable } from './text-table.ts';

/** GET /status/pipelines, as DESIGN.md's HTTP contract defines it. */
export const PipelineStatusSchema = z.object({
  documents: z.array(
    z.object({
      documentId: z.string(),
      feedId: z.string(),
      status: z.string(),
      /** A replay's original document. */
      replayOf: z.string().optional(),
      counts: z.object({
        records: z.number(),
        loaded: z.number(),
        duplicates: z.number(),
        quarantined: z.number(),
        rejected: z.number(),
        failed: z.number(),
      }),
    }),
  ),
});
export type DocumentStatus = z.infer<typeof PipelineStatusSchema>['documents'][number];
export type Counts = DocumentStatus['counts'];

/** Every record of the document is accounted for in exactly one outcome. */
export function conserved(counts: Counts): boolean {
  const { records, loaded, duplicates, quarantined, rejected, failed } = counts;
  return records === loaded + duplicates + quarantined + rejected + failed;
}

export function isDone(document: DocumentStatus): boolean {
  return document.status === 'complete' && conserved(document.counts);
}

export interface SummaryRow {
  name: string;
  format: string;
  /** Undefined when the document was refused by the API (no ledger entry). */
  document?: DocumentStatus;
  error?: string;
}

const COLUMNS = [
  'Document',
  'Format',
  'Status',
  'Records',
  'Loaded',
  'Duplicates',
  'Quarantined',
  'Rejected',
  'DLQ',
];

/** The summary table: one row per document and a total row, numbers right-aligned. */
export function summaryTable(rows: readonly SummaryRow[]): string {
  const total: Counts = { records: 0, loaded: 0, duplicates: 0, quarantined: 0, rejected: 0, failed: 0 };
  const body = rows.map((row) => {
    const c = row.document?.counts;
    if (c) for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += c[key];
    const status = row.error ? 'refused' : (row.document?.status ?? 'unknown');
    return [row.name, row.format, status, ...numbers(c)];
  });
  const footer = [`Total (${rows.length} documents)`, '', '', ...numbers(total)];
  return textTable(COLUMNS, body, { rightAligned: (i) => i >= 3, footer });
}

function numbers(c: Counts | undefined): string[] {
  if (!c) return ['-', '-', '-', '-', '-', '-'];
  return [c.records, c.loaded, c.duplicates, c.quarantined, c.rejected, c.failed].map(String);
}

/** One progress line: how many documents are complete and where their records are. */
export function progressLine(
  documents: readonly DocumentStatus[],
  expected: number,
  seconds: number,
): string {
  const complete = documents.filter(isDone).length;
  const sum = (key: keyof Counts): number => documents.reduce((n, d) => n + d.counts[key], 0);
  const settled = sum('loaded') + sum('duplicates') + sum('quarantined') + sum('rejected') + sum('failed');
  return (
    `  ${complete}/${expected} documents complete · ${sum('records')} records, ${settled} settled ` +
    `(${sum('loaded')} loaded, ${sum('duplicates')} duplicates, ${sum('quarantined')} quarantined, ` +
    `${sum('rejected')} rejected, ${sum('failed')} DLQ) · ${seconds.toFixed(1)} s`
  );
}

/** Ready-to-paste commands for the endpoint and key just printed. */
export function curlExamples(url: string, apiKey: string): string[] {
  const key = `-H 'x-api-key: ${apiKey}'`;
  return [
    `curl -s ${key} '${url}/indicators?limit=5'`,
    `curl -s ${key} '${url}/status/pipelines'`,
    `curl -s ${key} -H 'content-type: text/plain' --data-binary 'Phishing kit at hxxps://secure-login-update[.]net/verify, C2 45.142.212[.]100' '${url}/feeds/my-feed/documents'`,
  ];
}
