import { parseDocument } from '../../functions/formats/index.ts';
import { endToEndTask } from './end-to-end.ts';
import { type BenchFormat, benchInput } from './inputs.ts';
import { type Measurement, measure } from './measure.ts';
import { dedupTask, encryptTask, loadTask, validateTask } from './stage-tasks.ts';
import { streamingCheck } from './streaming.ts';

export type TaskArgs = Record<string, unknown>;
export type Task = (args: TaskArgs) => Promise<Record<string, unknown>>;

const RECEIVED_AT = '2026-01-01T00:00:00.000Z';
const DECODER = new TextDecoder();

const runsOf = (args: TaskArgs): { runs: number; warmup: number } => ({
  runs: Number(args['runs'] ?? 5),
  warmup: Number(args['warmup'] ?? 1),
});

/** Indicators per second of one format's parse + normalize, checked against the generator's count. */
async function extract(args: TaskArgs): Promise<Record<string, unknown>> {
  const format = String(args['format']) as BenchFormat;
  const input = benchInput(format, Number(args['size']));
  let emitted = 0;
  const m: Measurement = await measure(() => {
    let n = 0;
    const { events } = parseDocument(input.bytes, format, { feedId: 'bench', receivedAt: RECEIVED_AT });
    for (const e of events) if (e.kind === 'indicator') n++;
    emitted = n;
    return n;
  }, runsOf(args));
  return {
    indicatorsPerSec: m.perSec,
    indicators: emitted,
    expectedIndicators: input.expected,
    megabytes: Math.round(input.bytes.length / 1e4) / 100,
    medianMs: m.medianMs,
  };
}

/** The reference: `JSON.parse` of the same bytes (decode included), in top-level records per second. */
async function baseline(args: TaskArgs): Promise<Record<string, unknown>> {
  const format = String(args['format'] ?? 'stix') as BenchFormat;
  const input = benchInput(format, Number(args['size']));
  const m = await measure(() => {
    JSON.parse(DECODER.decode(input.bytes));
    return input.records;
  }, runsOf(args));
  return { jsonParseObjectsPerSec: m.perSec, objects: input.records, medianMs: m.medianMs };
}

export const TASKS: Record<string, Task> = {
  extract,
  baseline,
  validate: validateTask,
  dedup: dedupTask,
  load: loadTask,
  encrypt: encryptTask,
  'end-to-end': endToEndTask,
  streaming: async (args) => ({
    ...(await streamingCheck({
      smallMb: Number(args['smallMb'] ?? 10),
      largeMb: Number(args['largeMb'] ?? 500),
    })),
  }),
};
