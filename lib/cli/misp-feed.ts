import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Writable } from 'node:stream';
import {
  directoryFeedTransport,
  httpFeedTransport,
  type MispFeedTransport,
  pullMispFeed,
} from '../../functions/connectors/misp.ts';
import type { FeedConfig } from '../../functions/domain/feed-config.ts';
import { count, emptySummary, type ParseEvent, type ParseOptions } from '../../functions/formats/index.ts';
import { mispFeedParser } from '../../functions/formats/misp/index.ts';
import { UsageError } from './errors.ts';

export interface MispFeedParseOptions {
  feedId: string;
  receivedAt: string;
  feedConfig?: FeedConfig | undefined;
  /** Where quarantine records go (NDJSON), when given. */
  quarantine?: string | undefined;
  /** Streams, injectable for tests. */
  stdout?: Writable;
  stderr?: Writable;
}

/**
 * `cti-ingest parse TARGET --format misp-feed`: TARGET is a MISP feed directory, its manifest.json, an
 * http(s) base URL of a feed, or one `{uuid}.json` event file. Every event of the feed is pulled through
 * the MISP feed connector (from an empty cursor) and parsed; indicators go to stdout as NDJSON and one
 * summary line (with the events read and failed) to stderr. Exit 0 when the feed was read, 2 when its
 * manifest cannot be.
 */
export async function runMispFeedParse(target: string, options: MispFeedParseOptions): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const parseOptions: ParseOptions = {
    feedId: options.feedId,
    receivedAt: options.receivedAt,
    feedConfig: options.feedConfig,
  };
  const summary = emptySummary();
  const out = new Lines(stdout);
  const quarantine = options.quarantine ? new Lines(createWriteStream(options.quarantine)) : undefined;
  const emit = async (event: ParseEvent) => {
    count(summary, event);
    if (event.kind === 'indicator') await out.write(JSON.stringify(event.indicator));
    else if (event.kind === 'quarantine' && quarantine) await quarantine.write(JSON.stringify(event.record));
  };

  const source = await feedSource(target);
  let events = 0;
  let failedEvents = 0;
  if ('file' in source) {
    for (const event of mispFeedParser.parse(source.file, parseOptions)) await emit(event);
    events = 1;
  } else {
    let result: Awaited<ReturnType<typeof pullMispFeed>>;
    try {
      result = await pullMispFeed({
        transport: source.transport,
        // One at a time, so the output follows the feed's order.
        concurrency: 1,
        onEvent: async (doc) => {
          for (const event of mispFeedParser.parse(doc.body, parseOptions)) await emit(event);
        },
      });
    } catch (error) {
      throw new UsageError(`cannot read MISP feed ${target}: ${(error as Error).message}`);
    }
    events = result.handedOff.length;
    failedEvents = result.failed.length;
    for (const f of result.failed) stderr.write(`cti-ingest parse: event ${f.uuid} not read: ${f.error}\n`);
    for (const i of result.invalid)
      stderr.write(`cti-ingest parse: manifest entry ${i.key} ignored: ${i.reason}\n`);
  }
  await out.end(false);
  await quarantine?.end(true);
  stderr.write(`${JSON.stringify({ ...summary, format: 'misp-feed', events, failedEvents })}\n`);
  return 0;
}

async function feedSource(target: string): Promise<{ transport: MispFeedTransport } | { file: Uint8Array }> {
  if (/^https?:\/\//i.test(target)) return { transport: httpFeedTransport(target) };
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(target)).isDirectory();
  } catch (error) {
    throw new UsageError(
      `cannot read ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (isDirectory) return { transport: directoryFeedTransport(target) };
  if (basename(target) === 'manifest.json') return { transport: directoryFeedTransport(dirname(target)) };
  return { file: await readFile(target) };
}

/** NDJSON lines that wait for the stream to drain (a large feed must not pile up in memory). */
class Lines {
  constructor(private readonly stream: Writable) {}

  async write(line: string): Promise<void> {
    if (!this.stream.write(`${line}\n`)) await once(this.stream, 'drain');
  }

  async end(close: boolean): Promise<void> {
    if (close) {
      this.stream.end();
      await once(this.stream, 'finish');
    }
  }
}
