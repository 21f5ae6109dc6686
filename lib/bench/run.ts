import { cpus, totalmem } from 'node:os';
import { SIZES } from './inputs.ts';
import { runTask, runTasks, type WorkerOutput } from './orchestrate.ts';

export interface BenchReport {
  machine: {
    node: string;
    cpu: string;
    cores: number;
    memoryGb: number;
    pinnedToOneCore: boolean;
    date: string;
    quick: boolean;
  };
  baseline: { jsonParseObjectsPerSec: number };
  stages: {
    extract: Record<'stix' | 'misp' | 'csv' | 'text', Record<string, unknown>>;
    validate: Record<string, unknown>;
    dedup: Record<string, unknown>;
    load: Record<string, unknown>;
    encrypt: Record<string, unknown>;
  };
  endToEnd: Record<string, unknown>;
  streaming: Record<string, unknown>;
  peakRssMb: Record<string, number>;
  /** The targets, each with the measured ratio and whether it holds. */
  checks: Record<string, { ratio: number; target: string; ok: boolean }>;
  errors: string[];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Run every bench task, each in its own pinned process, and assemble the report. */
export async function runBenchmark(options: {
  quick: boolean;
  progress: (line: string) => void;
}): Promise<BenchReport> {
  const sizes = SIZES[options.quick ? 'quick' : 'full'];
  const runs = options.quick ? 3 : 5;
  const errors: string[] = [];
  const peakRssMb: Record<string, number> = {};
  const results: Record<string, Record<string, unknown>> = {};

  const plan: [string, string, Record<string, string | number | boolean>][] = [
    ['baseline', 'baseline', { format: 'stix', size: sizes.stix, runs }],
    ['extract.stix', 'extract', { format: 'stix', size: sizes.stix, runs }],
    ['extract.misp', 'extract', { format: 'misp', size: sizes.misp, runs }],
    ['extract.csv', 'extract', { format: 'csv', size: sizes.csv, runs }],
    ['extract.text', 'extract', { format: 'text', size: sizes.text, runs }],
    ['validate', 'validate', { size: sizes.stix, runs }],
    [
      'dedup',
      'dedup',
      { size: options.quick ? 10_000 : 50_000, dynaliteSize: options.quick ? 2_000 : 20_000, runs },
    ],
    ['load', 'load', { size: sizes.stix, runs }],
    ['encrypt', 'encrypt', { size: options.quick ? 5_000 : 100_000, runs }],
    ['streaming', 'streaming', { smallMb: options.quick ? 5 : 10, largeMb: options.quick ? 20 : 500 }],
    // End to end is bound by the emulators (a few hundred writes/s on one core): 20 documents of 1,000.
    [
      'endToEnd',
      'end-to-end',
      options.quick
        ? { indicators: 1_500, perDocument: 500, ceilingWrites: 400 }
        : { indicators: 20_000, perDocument: 1_000 },
    ],
  ];
  const record = (key: string, out: WorkerOutput) => {
    peakRssMb[key] = out.peakRssMb;
    if (out.error || !out.result) errors.push(`${key}: ${out.error ?? 'no result'}`);
    else results[key] = out.result;
    options.progress(`bench: ${key} ${out.error ? 'FAILED' : JSON.stringify(out.result)}`);
  };
  // --quick runs the stage tasks in one process: a process start and module load each would be most of
  // its time. Their peak RSS figures are then cumulative. Streaming and end to end keep their own.
  const shared = options.quick ? plan.filter(([key]) => key !== 'streaming' && key !== 'endToEnd') : [];
  if (shared.length > 0) {
    options.progress(`bench: ${shared.map(([key]) => key).join(', ')} (one process) …`);
    const outs = await runTasks(shared.map(([, task, args]) => ({ task, args })));
    for (const [i, [key]] of shared.entries()) record(key, outs[i] as WorkerOutput);
  }
  for (const [key, task, args] of plan.filter((p) => !shared.includes(p))) {
    options.progress(`bench: ${key} …`);
    record(key, await runTask(task, args));
  }

  const r = (key: string): Record<string, unknown> => results[key] ?? {};
  const baselineRate = num(r('baseline')['jsonParseObjectsPerSec']);
  const stixRate = num(r('extract.stix')['indicatorsPerSec']);
  const validateRate = num(r('validate')['indicatorsPerSec']);
  const e2eRate = num(r('endToEnd')['indicatorsPerSec']);
  const ceiling = num(r('endToEnd')['emulatorWriteCeilingPerSec']);
  const rssRatio = num(r('streaming')['ratio']);
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : 0);
  const checks = {
    stixExtractVsJsonParse: {
      ratio: ratio(stixRate, baselineRate),
      target: '>= 0.4',
      ok: ratio(stixRate, baselineRate) >= 0.4,
    },
    validateVsStixExtract: {
      ratio: ratio(validateRate, stixRate),
      target: '>= 2',
      ok: ratio(validateRate, stixRate) >= 2,
    },
    endToEndVsEmulatorCeiling: {
      ratio: ratio(e2eRate, ceiling),
      target: '>= 0.5',
      ok: ratio(e2eRate, ceiling) >= 0.5,
    },
    streamingPeakRss500vs10: { ratio: rssRatio, target: '< 2.5', ok: rssRatio > 0 && rssRatio < 2.5 },
  };
  const cpu = cpus()[0]?.model ?? 'unknown';
  return {
    machine: {
      node: process.version,
      cpu,
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      pinnedToOneCore: cpus().length > 1,
      date: new Date().toISOString(),
      quick: options.quick,
    },
    baseline: { jsonParseObjectsPerSec: baselineRate },
    stages: {
      extract: {
        stix: r('extract.stix'),
        misp: r('extract.misp'),
        csv: r('extract.csv'),
        text: r('extract.text'),
      },
      validate: r('validate'),
      dedup: r('dedup'),
      load: r('load'),
      encrypt: r('encrypt'),
    },
    endToEnd: r('endToEnd'),
    streaming: r('streaming'),
    peakRssMb,
    checks,
    errors,
  };
}
