/**
 * A deterministic URLhaus-style CSV dump of N rows, as `urlhaus.abuse.ch/downloads/csv_recent/` writes
 * it: a `#` banner, the header in a `#` comment line, quoted fields, tags lists, a `urlhaus_link` column
 * that must never become an indicator. URLs mix IP and domain hosts, ports, paths and query strings;
 * every URL is distinct, so a parser cannot profit from repeats.
 */

import { rng } from './random.ts';

// URLhaus hosts skew to other TLDs and path words than the other generators use.
const TLDS = ['com', 'net', 'org', 'info', 'ru', 'top', 'xyz', 'cn', 'br', 'in'];
const WORDS = ['update', 'secure', 'cdn', 'files', 'download', 'static', 'img', 'dl', 'mirror', 'bin'];

export interface GeneratedCsv {
  bytes: Uint8Array;
  /** Data rows in the file. */
  rows: number;
  /** URLs a parser should emit (one per row). */
  values: number;
}

const FILES = ['i', 'bin.sh', 'mozi.m', 'x86', 'mips', 'invoice.exe', 'setup.msi', 'doc.zip', 'payload.js'];
const TAGS = ['32-bit', 'elf', 'mips', 'arm', 'Mozi', 'Mirai', 'exe', 'AgentTesla', 'Formbook', 'zip'];
const REPORTERS = ['abuse_ch', 'geenensp', 'JAMESWT_MHT', 'Cryptolaemus1', 'lrz_urlhaus', 'anonymous'];
const STATUSES = ['online', 'offline'];

const BANNER = [
  '################################################################',
  '# abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #',
  '# Last updated: 2024-04-04 07:10:08 (UTC)                      #',
  '#                                                              #',
  '# Terms Of Use: https://urlhaus.abuse.ch/api/                  #',
  '# For questions please contact urlhaus [at] abuse.ch           #',
  '################################################################',
  '#',
  '# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter',
];

/**
 * Build the CSV. Rows are written newest first, as URLhaus does.
 *
 * @example generateUrlhausCsv(1000).rows // 1000
 */
export function generateUrlhausCsv(rows: number, seed = 20240404): GeneratedCsv {
  const random = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const int = (n: number): number => Math.floor(random() * n);
  const start = Date.UTC(2024, 3, 4, 7, 10, 8);
  const lines: string[] = [...BANNER];
  for (let i = 0; i < rows; i++) {
    const id = 2_786_904 - i;
    const added = formatTime(start - i * 37_000);
    // The row index is in every URL (as a path segment or port), so all URLs are distinct.
    const host =
      random() < 0.6
        ? `${1 + int(222)}.${int(256)}.${int(256)}.${1 + int(254)}`
        : `${pick(WORDS)}-${i.toString(36)}.${pick(WORDS)}.${pick(TLDS)}`;
    const port = random() < 0.5 ? `:${1024 + (i % 60_000)}` : '';
    const query = random() < 0.1 ? `?id=${i}&v=${int(100)}` : '';
    const url = `http://${host}${port}/${i.toString(36)}/${pick(FILES)}${query}`;
    const status = pick(STATUSES);
    const tags = [...new Set([pick(TAGS), pick(TAGS), pick(TAGS)])].slice(0, 1 + int(3)).join(',');
    const cells = [
      String(id),
      added,
      url,
      status,
      status === 'online' ? added : '',
      'malware_download',
      tags,
      `https://urlhaus.abuse.ch/url/${id}/`,
      pick(REPORTERS),
    ];
    lines.push(cells.map((c) => `"${c}"`).join(','));
  }
  return { bytes: new TextEncoder().encode(`${lines.join('\r\n')}\r\n`), rows, values: rows };
}

function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
