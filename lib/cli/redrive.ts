import { z } from 'zod';
import { UsageError } from './errors.ts';
import { operatorCommand } from './operator-api.ts';

const USAGE = 'cti-ingest redrive --queue validate|dedup|load|extract --endpoint URL --api-key OPERATOR_KEY';

const QUEUES = ['validate', 'dedup', 'load', 'extract'] as const;

const AnswerSchema = z
  .object({ queue: z.string(), moved: z.number(), more: z.boolean(), unreadable: z.number().optional() })
  .loose();

/**
 * `cti-ingest redrive --queue Q`: moves every message of stage Q's dead-letter queue back to its source
 * (`extract`: the Kinesis on-failure queue's records back onto the stream) through `POST /redrive/{queue}`,
 * calling again while the API answers `more`, and prints `{"queue":…,"moved":N}` (and `unreadable` for
 * extract records no longer on the stream).
 */
export async function runRedrive(args: string[]): Promise<number> {
  const { values, call } = operatorCommand(args, { queue: { type: 'string' } }, USAGE);
  const queue = values.queue;
  if (!queue || !(QUEUES as readonly string[]).includes(queue))
    throw new UsageError(`--queue must be one of ${QUEUES.join(', ')}. Usage: ${USAGE}`);
  let moved = 0;
  let unreadable: number | undefined;
  for (;;) {
    const answer = AnswerSchema.parse(await call('POST', `/redrive/${queue}`));
    moved += answer.moved;
    if (answer.unreadable !== undefined) unreadable = Math.max(unreadable ?? 0, answer.unreadable);
    if (!answer.more) break;
  }
  process.stdout.write(
    `${JSON.stringify({ queue, moved, ...(unreadable !== undefined ? { unreadable } : {}) })}\n`,
  );
  return 0;
}
