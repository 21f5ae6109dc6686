import type { BenchReport } from './run.ts';

const fmt = (v: unknown): string => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : '—');

/** The report as a human-readable table. */
export function formatReport(report: BenchReport): string {
  const s = report.stages;
  const rows: [string, unknown, number | undefined][] = [
    ['baseline JSON.parse (objects/s)', report.baseline.jsonParseObjectsPerSec, report.peakRssMb['baseline']],
    ['extract stix', s.extract.stix['indicatorsPerSec'], report.peakRssMb['extract.stix']],
    ['extract misp', s.extract.misp['indicatorsPerSec'], report.peakRssMb['extract.misp']],
    ['extract csv', s.extract.csv['indicatorsPerSec'], report.peakRssMb['extract.csv']],
    ['extract text', s.extract.text['indicatorsPerSec'], report.peakRssMb['extract.text']],
    ['validate', s.validate['indicatorsPerSec'], report.peakRssMb['validate']],
    ['dedup (in-memory port)', s.dedup['memoryIndicatorsPerSec'], report.peakRssMb['dedup']],
    ['dedup (dynalite)', s.dedup['dynaliteIndicatorsPerSec'], report.peakRssMb['dedup']],
    ['load merge', s.load['indicatorsPerSec'], report.peakRssMb['load']],
    ['envelope encryption', s.encrypt['indicatorsPerSec'], report.peakRssMb['encrypt']],
    ['end to end (local runtime)', report.endToEnd['indicatorsPerSec'], report.peakRssMb['endToEnd']],
    ['dynalite single writes (ceiling)', report.endToEnd['emulatorWriteCeilingPerSec'], undefined],
    ['dynalite BatchGetItem items', report.endToEnd['emulatorBatchGetItemsPerSec'], undefined],
  ];
  const lines = [
    `cti-ingest bench — ${report.machine.date} — node ${report.machine.node} — ${report.machine.cpu} (${report.machine.cores} cores, one pinned)${report.machine.quick ? ' — quick' : ''}`,
    '',
    `${'stage'.padEnd(36)} ${'indicators/s'.padStart(14)} ${'peak RSS MB'.padStart(12)}`,
    ...rows.map(
      ([name, rate, rss]) => `${name.padEnd(36)} ${fmt(rate).padStart(14)} ${fmt(rss).padStart(12)}`,
    ),
    '',
    `end-to-end latency push → queryable: p50 ${fmt(report.endToEnd['p50LatencyMs'])} ms, p95 ${fmt(report.endToEnd['p95LatencyMs'])} ms`,
    `streaming peak RSS: ${fmt(report.streaming['smallPeakRssMb'])} MB for ${fmt(report.streaming['smallMb'])} MB, ${fmt(report.streaming['largePeakRssMb'])} MB for ${fmt(report.streaming['largeMb'])} MB`,
    '',
    'checks:',
    ...Object.entries(report.checks).map(
      ([k, c]) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${k}: ${c.ratio} (target ${c.target})`,
    ),
    ...(report.errors.length > 0
      ? ['', 'errors:', ...report.errors.map((e) => `  ${e.split('\n')[0]}`)]
      : []),
    '',
  ];
  return lines.join('\n');
}
