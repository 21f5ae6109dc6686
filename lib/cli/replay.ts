import { z } from 'zod';
import { UsageError } from './errors.ts';
import { operatorCommand } from './operator-api.ts';

const USAGE = 'cti-ingest replay --document ID | --feed ID [--since T] --endpoint URL --api-key OPERATOR_KEY';

const AnswerSchema = z.object({
  replays: z.array(z.object({ documentId: z.string(), replayOf: z.string() })),
  skipped: z.number().optional(),
  next: z.string().nullable().optional(),
});

/**
 * `cti-ingest replay`: a document (`--document ID`) or a feed's documents (`--feed ID`, received at or
 * after `--since T` when given) enter the pipeline again from the raw archive, each under a new document id;
 * prints one line `{"documentId":…,"replayOf":…}` per replay. A feed's are replayed 100 per request,
 * following the API's `next` until none are left.
 */
export async function runReplay(args: string[]): Promise<number> {
  const { values, call } = operatorCommand(
    args,
    { document: { type: 'string' }, feed: { type: 'string' }, since: { type: 'string' } },
    USAGE,
  );
  if (Boolean(values.document) === Boolean(values.feed))
    throw new UsageError(`give one of --document ID or --feed ID. Usage: ${USAGE}`);
  if (values.document && values.since) throw new UsageError('--since goes with --feed');
  const print = (answer: z.infer<typeof AnswerSchema>) => {
    for (const replay of answer.replays) process.stdout.write(`${JSON.stringify(replay)}\n`);
  };
  if (values.document) {
    print(AnswerSchema.parse(await call('POST', `/documents/${encodeURIComponent(values.document)}/replay`)));
    return 0;
  }
  let since = values.since;
  for (;;) {
    const answer = AnswerSchema.parse(
      await call('POST', `/feeds/${encodeURIComponent(values.feed ?? '')}/replay`, since ? { since } : {}),
    );
    print(answer);
    if (!answer.next) return 0;
    since = answer.next;
  }
}
