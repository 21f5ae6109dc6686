import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type Format, FormatSchema } from '../../functions/domain/indicator.ts';
import {
  count,
  DocumentError,
  emptySummary,
  type ParseEvent,
  type ParseOptions,
  parseDocument,
} from '../../functions/formats/index.ts';
import { parseDocumentStream } from '../../functions/formats/stream.ts';
import { UsageError } from './errors.ts';
import { loadFeedConfig } from './feed-config-file.ts';

/** `cti-ingest parse FILE …`: NDJSON indicators on stdout, a JSON summary line on stderr. */
export async function runParse(args: string[]): Promise<number> {
  const { values, positionals } = parseArgsOrThrow(args);
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError('expected exactly one FILE');
  const format = parseFormat(values.format ?? 'auto');
  const feedConfig = values['feed-config']
    ? await loadFeedConfig(values['feed-config'], values.feed)
    : undefined;
  if ((format ?? feedConfig?.format) === 'misp-feed')
    return (await import('./misp-feed.ts')).runMispFeedParse(file, {
      feedId: values.feed ?? feedConfig?.id ?? 'cli',
      receivedAt: new Date().toISOString(),
      feedConfig,
      quarantine: values.quarantine,
    });
  const options = {
    feedId: values.feed ?? feedConfig?.id ?? 'cli',
    receivedAt: new Date().toISOString(),
    preset: values.preset ?? feedConfig?.preset,
    feedConfig,
  };
  const { events, format: chosen } = await openDocument(
    file,
    format ?? feedConfig?.format ?? 'auto',
    options,
  );
  const out = new LineWriter(process.stdout);
  const quarantine = values.quarantine ? new LineWriter(await openForWriting(values.quarantine)) : undefined;
  const summary = emptySummary();
  for await (const event of events) {
    count(summary, event);
    if (event.kind === 'indicator') await out.write(JSON.stringify(event.indicator));
    else if (event.kind === 'quarantine' && quarantine) await quarantine.write(JSON.stringify(event.record));
  }
  await out.end(false);
  await quarantine?.end(true);
  process.stderr.write(`${JSON.stringify({ ...summary, format: chosen })}\n`);
  return 0;
}

/** Above this size a document is parsed as a stream (STIX, MISP, CSV), never held whole. */
const STREAM_ABOVE_BYTES = 8 * 1024 * 1024;

/** Read a small file whole; stream a large one through the format's streaming parser. */
async function openDocument(
  file: string,
  format: Format | 'auto',
  options: ParseOptions,
): Promise<{ format: Format; events: Iterable<ParseEvent> | AsyncIterable<ParseEvent> }> {
  let size: number;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = info.size;
    if (size <= STREAM_ABOVE_BYTES) return parseDocument(await readFile(file), format, options);
  } catch (error) {
    if (error instanceof DocumentError) throw error;
    throw new UsageError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return parseDocumentStream(() => createReadStream(file, { highWaterMark: 1 << 20 }), format, options);
}

/** Open an output file up front, so an unwritable path is a usage error before any parsing. */
async function openForWriting(path: string): Promise<Writable> {
  try {
    return (await open(path, 'w')).createWriteStream();
  } catch (error) {
    throw new UsageError(
      `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function parseArgsOrThrow(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        preset: { type: 'string' },
        'feed-config': { type: 'string' },
        feed: { type: 'string' },
        quarantine: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseFormat(text: string): Format | undefined {
  if (text === 'auto') return undefined;
  const parsed = FormatSchema.safeParse(text);
  if (!parsed.success)
    throw new UsageError(`unknown format '${text}'; expected auto or ${FormatSchema.options.join(', ')}`);
  return parsed.data;
}

/** Buffered line output that respects back-pressure (a 100 MB parse must not buffer in memory). */
class LineWriter {
  private buffer: string[] = [];
  private size = 0;
  constructor(private readonly stream: Writable) {}

  async write(line: string): Promise<void> {
    this.buffer.push(line);
    this.size += line.length;
    if (this.size >= 64 * 1024) await this.flush();
  }

  async end(close: boolean): Promise<void> {
    await this.flush();
    if (close) {
      this.stream.end();
      await once(this.stream, 'finish');
    }
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    this.size = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}
