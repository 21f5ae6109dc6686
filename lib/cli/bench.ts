import { parseArgs } from 'node:util';
import { formatReport } from '../bench/report.ts';
import { type BenchReport, runBenchmark } from '../bench/run.ts';
import { UsageError } from './errors.ts';

/**
 * `cti-ingest bench [--json] [--quick] [--check]`: the benchmark, as a table or one JSON object. Exit 1 when
 * a task failed; with `--check`, also when a check's figure misses its target (the report's FAIL lines).
 */
export async function runBench(args: string[]): Promise<number> {
  let values: { json?: boolean; quick?: boolean; check?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, check: { type: 'boolean' } },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const progress = values.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const report = await runBenchmark({ quick: values.quick ?? false, progress });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return benchExitCode(report, values.check ?? false);
}

/** 0 when every task ran (and, in check mode, every check met its target); else 1. */
export function benchExitCode(report: Pick<BenchReport, 'errors' | 'checks'>, check: boolean): number {
  if (report.errors.length > 0) return 1;
  if (check && Object.values(report.checks).some((c) => !c.ok)) return 1;
  return 0;
}
