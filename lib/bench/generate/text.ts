/**
 * A deterministic free-text threat report of about N bytes (5 MB by default): analyst prose with
 * defanged indicators planted in it — `hxxp://host[.]tld/path`, `198.51.100[.]7`, `evil[.]com`,
 * `user[@]host[.]tld`, hashes, CVEs — plus decoys that must not be reported (version numbers, file names
 * without a public suffix). Every planted value is distinct.
 */

import { HEX, rng, TLDS, WORDS } from './random.ts';

export interface GeneratedText {
  bytes: Uint8Array;
  /** Distinct indicators planted in the prose (what a parser should emit). */
  planted: number;
}

const FAMILIES = ['Emotet', 'QakBot', 'IcedID', 'Cobalt Strike', 'AgentTesla', 'Remcos', 'Lumma'];
const PROSE = [
  'The actor relied on spear-phishing messages with invoice-themed lures.',
  'Persistence was achieved through a scheduled task that ran every thirty minutes.',
  'We observed the loader version 10.2.1 querying a configuration endpoint.',
  'Lateral movement used stolen credentials and remote service creation.',
  'The payload was packed and unpacked itself in memory before execution.',
  'Defenders should review proxy logs for the beacon interval described below.',
  'The sample dropped readme.txt and config.dat next to the executable.',
  'Network traffic was encrypted with a static key embedded in the binary.',
];

/**
 * Build the report.
 *
 * @example generateThreatReport(100_000).planted // a few hundred
 */
export function generateThreatReport(targetBytes = 5 * 1024 * 1024, seed = 20240412): GeneratedText {
  const random = rng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const int = (n: number): number => Math.floor(random() * n);
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += HEX[int(16)];
    return s;
  };
  const parts: string[] = ['Threat report: campaign activity overview\n\n'];
  let size = parts[0]?.length ?? 0;
  let planted = 0;
  for (let n = 0; size < targetBytes; n++) {
    const tag = n.toString(36);
    const domain = `${pick(WORDS)}-${tag}[.]${pick(WORDS)}[.]${pick(TLDS)}`;
    const indicators = [
      `hxxp://${pick(WORDS)}-${tag}[.]${pick(TLDS)}/${pick(WORDS)}/${tag}.php`,
      `${10 + (n % 200)}.${(n >> 8) % 256}.${n % 256}[.]${1 + int(254)}`,
      domain,
      `${pick(WORDS)}.${tag}[@]${pick(WORDS)}-${tag}[.]${pick(TLDS)}`,
      `${hex(56)}${n.toString(16).padStart(8, '0')}`,
      `CVE-20${10 + (n % 15)}-${String(10_000 + n).padStart(5, '0')}`,
    ];
    planted += indicators.length;
    const paragraph =
      `${pick(PROSE)} ${pick(FAMILIES)} infrastructure included ${indicators[0]} and the C2 address ` +
      `${indicators[1]}, resolving from ${indicators[2]}. Phishing mail came from ${indicators[3]}. ` +
      `The dropper hash was ${indicators[4]}, exploiting ${indicators[5]}. ${pick(PROSE)}\n\n`;
    parts.push(paragraph);
    size += paragraph.length;
  }
  return { bytes: new TextEncoder().encode(parts.join('')), planted };
}
