/**
 * One bench task in its own process (started by orchestrate.ts): generates its deterministic input, measures,
 * and prints one JSON line `{"task":…,"result":…,"peakRssMb":…}` on stdout.
 */

import { peakRssMb } from './measure.ts';
import { TASKS } from './tasks.ts';

const [task = '', argsJson = '{}'] = process.argv.slice(2);
const run = TASKS[task];
if (!run) {
  process.stdout.write(
    `${JSON.stringify({ task, error: `unknown bench task ${task}`, peakRssMb: peakRssMb() })}\n`,
  );
  process.exit(2);
}
try {
  const result = await run(JSON.parse(argsJson) as Record<string, unknown>);
  process.stdout.write(`${JSON.stringify({ task, result, peakRssMb: peakRssMb() })}\n`);
  process.exit(0);
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ task, error: (error as Error).stack ?? String(error), peakRssMb: peakRssMb() })}\n`,
  );
  process.exit(1);
}
