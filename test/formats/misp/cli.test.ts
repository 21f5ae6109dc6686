import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runMispFeedParse } from '../../../lib/cli/misp-feed.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FEED = fileURLToPath(new URL('../../fixtures/feeds/misp/feed/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/feeds/misp/', import.meta.url));

function capture() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}

describe('cti-ingest parse --format misp-feed', () => {
  it.each([
    ['the feed directory', FEED],
    ['its manifest.json', join(FEED, 'manifest.json')],
  ])('reads every event of %s through the feed connector', async (_name, target) => {
    // Prepare
    const out = capture();
    const err = capture();

    // Act
    const code = await runMispFeedParse(target, {
      feedId: 'feed-test',
      receivedAt: '2026-01-01T00:00:00.000Z',
      stdout: out.stream,
      stderr: err.stream,
    });

    // Assess
    const indicators = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(code).toBe(0);
    expect(indicators.map((i) => `${i.type}:${i.value}`)).toEqual([
      'ipv4:198.51.100.1',
      'domain:b.example.net',
      'url:http://c.example.org/x',
      'md5:44d88612fea8a8f36de82e1278abb02f',
    ]);
    expect(indicators.every((i) => i.source.format === 'misp-feed' && i.tlp === 'clear')).toBe(true);
    expect(JSON.parse(err.text())).toEqual({
      records: 4,
      indicators: 4,
      quarantined: 0,
      skipped: 0,
      format: 'misp-feed',
      events: 4,
      failedEvents: 0,
    });
  });

  it('writes quarantine records of a single event file to --quarantine', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'misp-cli-'));
    const quarantine = join(dir, 'q.ndjson');
    const out = capture();
    const err = capture();

    // Act
    await runMispFeedParse(join(FIXTURES, 'composite-event.json'), {
      feedId: 'feed-test',
      receivedAt: '2026-01-01T00:00:00.000Z',
      quarantine,
      stdout: out.stream,
      stderr: err.stream,
    });

    // Assess
    expect(readFileSync(quarantine, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(JSON.parse(err.text())).toMatchObject({ records: 24, indicators: 17, quarantined: 2, skipped: 5 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with a clear message for a path that does not exist', async () => {
    await expect(
      runMispFeedParse(join(FIXTURES, 'no-such-feed'), {
        feedId: 'x',
        receivedAt: '2026-01-01T00:00:00.000Z',
      }),
    ).rejects.toThrow(/cannot read .*no-such-feed: ENOENT/);
  });
});

describe('cti-ingest parse --format auto on a MISP corpus file', () => {
  it('detects MISP and prints indicators and the summary', async () => {
    // Act
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/cti-ingest.ts',
        'parse',
        join(FIXTURES, 'eset--sednit-2019-05-23_Zebrocy.json'),
      ],
      { cwd: ROOT },
    );

    // Assess
    expect(stdout.trim().split('\n')).toHaveLength(11);
    expect(JSON.parse(stderr)).toEqual({
      records: 12,
      indicators: 11,
      quarantined: 0,
      skipped: 1,
      format: 'misp',
    });
  });
});
