import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { detectFormat } from '../../functions/formats/index.ts';
import { CONTENT_TYPES, formatOfFile } from '../local/content-types.ts';
import { UsageError } from './errors.ts';

/** The API refused a document or could not be reached. */
export class PushError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PushError';
  }
}

export interface PushRequest {
  endpoint: string;
  apiKey: string;
  feedId: string;
  contentType: string;
  body: Uint8Array;
}

const AcceptedSchema = z.object({ documentId: z.string().min(1) });

/** POST one document to `/feeds/{feedId}/documents`; resolves to its document id. */
export async function postDocument(request: PushRequest): Promise<string> {
  const url = `${request.endpoint.replace(/\/+$/, '')}/feeds/${encodeURIComponent(request.feedId)}/documents`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'x-api-key': request.apiKey, 'content-type': request.contentType },
      body: request.body,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new PushError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) throw new PushError(`${response.status} ${serverMessage(text)}`, response.status);
  const parsed = AcceptedSchema.safeParse(safeJson(text));
  if (!parsed.success)
    throw new PushError(`${response.status} but no documentId in the answer: ${text.slice(0, 200)}`);
  return parsed.data.documentId;
}

/** The server's error text: `{"error"}` (our handlers) or `{"message"}` (API Gateway's own answers). */
function serverMessage(text: string): string {
  const body = safeJson(text) as { error?: unknown; message?: unknown } | undefined;
  const message = body?.error ?? body?.message;
  return typeof message === 'string' ? message : text.slice(0, 500) || '(empty answer)';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * `cti-ingest push FILE… --endpoint URL --api-key KEY [--feed ID]`: each file with the content type of its
 * format; prints `FILE<TAB>documentId` per accepted document. Exit 2 at the first refusal, with the server's
 * reason.
 */
export async function runPush(args: string[]): Promise<number> {
  const { values, positionals: files } = parsePushArgs(args);
  if (files.length === 0) throw new UsageError('expected at least one FILE');
  const endpoint = values.endpoint ?? process.env['CTI_ENDPOINT'];
  const apiKey = values['api-key'] ?? process.env['CTI_API_KEY'];
  if (!endpoint) throw new UsageError('--endpoint URL is required (or set CTI_ENDPOINT)');
  if (!/^https?:\/\//.test(endpoint))
    throw new UsageError(`--endpoint must be an http(s) URL, got '${endpoint}'`);
  if (!apiKey) throw new UsageError('--api-key KEY is required (or set CTI_API_KEY)');
  for (const file of files) {
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch (error) {
      throw new UsageError(
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
    const format = formatOfFile(file, body, detectFormat);
    const feedId = values.feed ?? defaultFeedId(file);
    try {
      const documentId = await postDocument({
        endpoint,
        apiKey,
        feedId,
        contentType: CONTENT_TYPES[format],
        body,
      });
      process.stdout.write(`${file}\t${documentId}\n`);
    } catch (error) {
      if (!(error instanceof PushError)) throw error;
      process.stderr.write(
        `cti-ingest push: ${file} (${format}, feed ${feedId}) refused: ${error.message}\n`,
      );
      return 2;
    }
  }
  return 0;
}

/** Without --feed, the file's base name is the feed id (letters, digits, dot, dash, underscore). */
function defaultFeedId(file: string): string {
  const stem = basename(file)
    .replace(/\.[^.]+$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+|-+$/g, '');
  // Feed ids are 3–64 characters starting with a letter or digit.
  return (stem.length >= 3 ? stem : `push-${stem || 'file'}`).slice(0, 64);
}

function parsePushArgs(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        endpoint: { type: 'string' },
        'api-key': { type: 'string' },
        feed: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
