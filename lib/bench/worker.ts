/**
 * Bench tasks in their own process (started by orchestrate.ts), one after another: each generates its
 * deterministic input, measures, and prints one JSON line `{"task":…,"result":…,"peakRssMb":…}` on stdout.
 */

import { z } from 'zod';
import { peakRssMb } from './measure.ts';
import { TASKS } from './tasks.ts';

/** `worker.ts --tasks '[{"task":…,"args":{…}},…]'`: one output line per task, in order. */
const TasksSchema = z.array(z.object({ task: z.string(), args: z.record(z.string(), z.unknown()) }));

const [flag, tasksJson = '[]'] = process.argv.slice(2);
if (flag !== '--tasks') {
  process.stderr.write('usage: worker.ts --tasks JSON\n');
  process.exit(2);
}
let failed = false;
for (const { task, args } of TasksSchema.parse(JSON.parse(tasksJson))) {
  const run = TASKS[task];
  if (!run) {
    process.stdout.write(
      `${JSON.stringify({ task, error: `unknown bench task ${task}`, peakRssMb: peakRssMb() })}\n`,
    );
    failed = true;
    continue;
  }
  try {
    const result = await run(args);
    process.stdout.write(`${JSON.stringify({ task, result, peakRssMb: peakRssMb() })}\n`);
  } catch (error) {
    process.stdout.write(
      `${JSON.stringify({ task, error: (error as Error).stack ?? String(error), peakRssMb: peakRssMb() })}\n`,
    );
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
