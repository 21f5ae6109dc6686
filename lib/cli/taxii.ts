import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { type FileHandle, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  type FetchLike,
  NetworkError,
  RequestTimeoutError,
  RetryAfterTooLongError,
} from '../../functions/connectors/http.ts';
import {
  DateAddedUnavailableError,
  LoopDetectedError,
  pull,
  type StixObject,
  type TaxiiAuth,
  TaxiiClient,
  type TaxiiCursor,
  TaxiiCursorSchema,
  TaxiiHttpError,
  TaxiiResponseError,
  TimestampSchema,
} from '../../functions/connectors/taxii21.ts';
import { UsageError } from './errors.ts';

export const TAXII_USAGE =
  'cti-ingest taxii pull API_ROOT_URL --collection ID [--added-after T] [--user U --password P | --token T] ' +
  '[--state FILE] [--out FILE] [--limit N] [--match-type T[,T…]] [--timeout SECONDS]';

/** What `--state FILE` holds: the cursor of one collection, committed after each page was written. */
export const TaxiiStateSchema = z
  .object({
    apiRoot: z.string(),
    collection: z.string(),
    cursor: TaxiiCursorSchema,
  })
  .strict();
export type TaxiiState = z.infer<typeof TaxiiStateSchema>;

export interface TaxiiIo {
  stdout: Writable;
  stderr: Writable;
  fetch?: FetchLike | undefined;
}

/** Failures of the pull itself (the server, the network, the data): one line on stderr, exit 1. */
const PULL_ERRORS = [
  TaxiiHttpError,
  TaxiiResponseError,
  LoopDetectedError,
  DateAddedUnavailableError,
  RequestTimeoutError,
  NetworkError,
  RetryAfterTooLongError,
];

/** `cti-ingest taxii pull …`: every new object of a collection into one STIX 2.1 bundle. */
export async function runTaxii(
  args: string[],
  io: TaxiiIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const { values, positionals } = parseArgsOrThrow(args);
  const [action, apiRoot, ...extra] = positionals;
  if (action !== 'pull')
    throw new UsageError(`expected 'pull', got '${action ?? ''}'. Usage: ${TAXII_USAGE}`);
  if (apiRoot === undefined || extra.length > 0) throw new UsageError('expected exactly one API_ROOT_URL');
  if (!/^https?:\/\/[^/]/i.test(apiRoot))
    throw new UsageError(`API_ROOT_URL must be an http(s) URL, got '${apiRoot}'`);
  const collection = values.collection;
  if (collection === undefined || collection === '') throw new UsageError('--collection ID is required');
  const auth = authFrom(values);
  const addedAfter = values['added-after'];
  if (addedAfter !== undefined && !TimestampSchema.safeParse(addedAfter).success)
    throw new UsageError(
      `--added-after must be an RFC 3339 timestamp such as 2024-01-31T00:00:00Z, got '${addedAfter}'`,
    );
  const limit = positiveInt(values.limit, '--limit');
  const timeout = positiveInt(values.timeout, '--timeout');

  const state = values.state ? await readState(values.state, apiRoot, collection) : undefined;
  // The saved cursor wins: it records what was really handed off; --added-after only starts a first pull.
  const cursor: TaxiiCursor =
    state?.cursor ?? (addedAfter === undefined ? { seen: [] } : { addedAfter, seen: [] });
  if (state && addedAfter !== undefined)
    io.stderr.write(
      `cti-ingest taxii: --added-after ignored, continuing from the cursor in ${values.state}\n`,
    );

  const client = new TaxiiClient({
    auth,
    ...(io.fetch ? { fetch: io.fetch } : {}),
    ...(timeout === undefined ? {} : { timeoutMs: timeout * 1000 }),
  });
  const out = values.out ? await BundleWriter.toFile(values.out) : BundleWriter.toStream(io.stdout);
  try {
    const summary = await pull(
      client,
      {
        apiRoot,
        collectionId: collection,
        cursor,
        limit,
        matchType: values['match-type']?.split(',').filter((t) => t !== ''),
      },
      {
        onPage: (objects) => out.write(objects),
        commitCursor: async (next) => {
          if (values.state) await writeState(values.state, { apiRoot, collection, cursor: next });
        },
      },
    );
    await out.close();
    io.stderr.write(
      `${JSON.stringify({ pages: summary.pages, objects: summary.objects, received: summary.received, addedAfter: summary.cursor.addedAfter ?? null })}\n`,
    );
    return 0;
  } catch (error) {
    // Close the bundle so what was handed off (and committed in the state file) stays readable JSON.
    await out.abort().catch(() => undefined);
    if (PULL_ERRORS.some((type) => error instanceof type)) {
      const kept = values.state ? ` (the cursor in ${values.state} stays at the last page written)` : '';
      io.stderr.write(`cti-ingest taxii: ${(error as Error).message}${kept}\n`);
      return 1;
    }
    throw error;
  }
}

function parseArgsOrThrow(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        collection: { type: 'string' },
        'added-after': { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        token: { type: 'string' },
        state: { type: 'string' },
        out: { type: 'string' },
        limit: { type: 'string' },
        'match-type': { type: 'string' },
        timeout: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function authFrom(values: { user?: string; password?: string; token?: string }): TaxiiAuth | undefined {
  const { user, password, token } = values;
  if (token !== undefined && (user !== undefined || password !== undefined))
    throw new UsageError('give either --user/--password or --token, not both');
  if (token !== undefined) return { kind: 'bearer', token };
  if ((user === undefined) !== (password === undefined))
    throw new UsageError('--user and --password go together');
  return user !== undefined && password !== undefined
    ? { kind: 'basic', username: user, password }
    : undefined;
}

function positiveInt(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${name} must be a positive integer, got '${text}'`);
  return Number(text);
}

async function readState(file: string, apiRoot: string, collection: string): Promise<TaxiiState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read state file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  let parsed: ReturnType<typeof TaxiiStateSchema.safeParse>;
  try {
    parsed = TaxiiStateSchema.safeParse(JSON.parse(text));
  } catch {
    throw new UsageError(`state file ${file} is not JSON`);
  }
  if (!parsed.success)
    throw new UsageError(`state file ${file} is not a TAXII pull state: ${z.prettifyError(parsed.error)}`);
  const state = parsed.data;
  if (state.apiRoot !== apiRoot || state.collection !== collection)
    throw new UsageError(
      `state file ${file} belongs to ${state.apiRoot} collection ${state.collection}, not ${apiRoot} collection ${collection}`,
    );
  return state;
}

/** Write-then-rename, so a crash leaves the old cursor or the new one, never half a file. */
async function writeState(file: string, state: TaxiiState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temp, file);
}

/**
 * A STIX 2.1 bundle written page by page. A page counts as handed off once `write` resolves: for a
 * file that is after fsync, so the cursor committed next never gets ahead of the data on disk.
 */
class BundleWriter {
  private count = 0;
  private closed = false;
  /** Text not yet written (the stream header waits for the first page). */
  private pending = '';

  private constructor(
    private readonly sink: { write: (text: string) => Promise<void>; end: () => Promise<void> },
  ) {}

  static async toFile(path: string): Promise<BundleWriter> {
    await mkdir(dirname(path), { recursive: true });
    const handle: FileHandle = await open(path, 'w');
    const writer = new BundleWriter({
      write: async (text) => {
        await handle.write(text);
        await handle.sync();
      },
      end: () => handle.close(),
    });
    await writer.start();
    return writer;
  }

  static toStream(stream: Writable): BundleWriter {
    const writer = new BundleWriter({
      write: async (text) => {
        if (!stream.write(text)) await once(stream, 'drain');
      },
      end: async () => undefined,
    });
    // The header is small; it is flushed with the first page.
    writer.pending = bundleHeader();
    return writer;
  }

  private async start(): Promise<void> {
    await this.sink.write(bundleHeader());
  }

  async write(objects: StixObject[]): Promise<void> {
    if (objects.length === 0 && this.pending === '') return;
    let text = this.pending;
    this.pending = '';
    for (const object of objects) text += `${this.count++ === 0 ? '\n' : ',\n'}${JSON.stringify(object)}`;
    await this.sink.write(text);
  }

  /** After a failure: close what was started; print nothing on a stream nothing was written to. */
  async abort(): Promise<void> {
    if (this.pending !== '') {
      this.closed = true;
      await this.sink.end();
      return;
    }
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sink.write(`${this.pending}${this.count === 0 ? '' : '\n'}]}\n`);
    await this.sink.end();
  }
}

function bundleHeader(): string {
  return `{"type":"bundle","id":"bundle--${randomUUID()}","objects":[`;
}
