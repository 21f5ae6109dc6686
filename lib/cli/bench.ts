import { parseArgs } from 'node:util';
import { formatReport } from '../bench/report.ts';
import { runBenchmark } from '../bench/run.ts';
import { UsageError } from './errors.ts';

/** `cti-ingest bench [--json] [--quick]`: the benchmark, as a table or one JSON object. */
export async function runBench(args: string[]): Promise<number> {
  let values: { json?: boolean; quick?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { json: { type: 'boolean' }, quick: { type: 'boolean' } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const progress = values.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const report = await runBenchmark({ quick: values.quick ?? false, progress });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return report.errors.length === 0 ? 0 : 1;
}
