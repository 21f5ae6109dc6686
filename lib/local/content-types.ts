import { extname } from 'node:path';
import type { Format } from '../../functions/domain/indicator.ts';

/**
 * The Content-Type that makes the ingest API read a document as each format (DESIGN.md's HTTP contract).
 * MISP events and MISP feed files are JSON: the API tells them apart from generic JSON by their shape.
 */
export const CONTENT_TYPES: Record<Format, string> = {
  stix: 'application/stix+json',
  misp: 'application/json',
  'misp-feed': 'application/json',
  json: 'application/json',
  csv: 'text/csv',
  xml: 'application/xml',
  rss: 'application/rss+xml',
  text: 'text/plain',
};

/**
 * A file's format: what `detect` (functions/formats `detectFormat`) recognizes in its bytes, except where the
 * extension is unambiguous and detection only found text (a CSV or a .txt report reads as text too).
 */
export function formatOfFile(
  fileName: string,
  bytes: Uint8Array,
  detect: (input: Uint8Array) => Format,
): Format {
  const detected = detect(bytes);
  const extension = extname(fileName).toLowerCase();
  if (detected !== 'text') return detected;
  if (extension === '.csv' || extension === '.tsv') return 'csv';
  if (extension === '.json') return 'json';
  if (extension === '.xml') return 'xml';
  if (extension === '.rss' || extension === '.atom') return 'rss';
  return 'text';
}
