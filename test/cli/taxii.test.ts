import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/cli/errors.ts';
import { runTaxii, TaxiiStateSchema } from '../../lib/cli/taxii.ts';
import { generateIndicators, TaxiiTestServer } from '../helpers/taxii-server.ts';

const AUTH = ['--user', 'admin', '--password', 'Password0'];

let server: TaxiiTestServer;
let dir: string;

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

async function run(args: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runTaxii(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

async function bundleIds(file: string): Promise<string[]> {
  const bundle = JSON.parse(await readFile(file, 'utf8')) as {
    type: string;
    id: string;
    objects: { id: string }[];
  };
  expect(bundle.type).toBe('bundle');
  expect(bundle.id).toMatch(/^bundle--[0-9a-f-]{36}$/);
  return bundle.objects.map((o) => o.id);
}

const ids = (from: number, n: number) => generateIndicators(n, from).map((o) => String(o['id']));

beforeEach(async () => {
  server = await TaxiiTestServer.start();
  dir = await mkdtemp(join(tmpdir(), 'taxii-cli-'));
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('cti-ingest taxii pull', () => {
  it('pulls every object once into a bundle, and a later pull with the same state continues', async () => {
    // Prepare
    server.add('feeds', 'indicators', generateIndicators(120));
    const state = join(dir, 'state.json');
    const base = [
      'pull',
      server.apiRootUrl('feeds'),
      '--collection',
      'indicators',
      ...AUTH,
      '--state',
      state,
    ];

    // Act
    const first = await run([...base, '--out', join(dir, 'one.json'), '--limit', '50']);
    server.restart();
    server.add('feeds', 'indicators', generateIndicators(30, 120));
    const second = await run([...base, '--out', join(dir, 'two.json'), '--limit', '50']);
    const third = await run([...base, '--out', join(dir, 'three.json')]);

    // Assess
    expect(first.code).toBe(0);
    expect(await bundleIds(join(dir, 'one.json'))).toEqual(ids(0, 120));
    expect(JSON.parse(first.stderr)).toMatchObject({ pages: 3, objects: 120 });
    expect(second.code).toBe(0);
    expect(await bundleIds(join(dir, 'two.json'))).toEqual(ids(120, 30));
    expect(third.code).toBe(0);
    expect(await bundleIds(join(dir, 'three.json'))).toEqual([]);
    const saved = TaxiiStateSchema.parse(JSON.parse(await readFile(state, 'utf8')));
    expect(saved).toMatchObject({ apiRoot: server.apiRootUrl('feeds'), collection: 'indicators' });
  });

  it('writes the bundle to stdout without --out and starts after --added-after', async () => {
    // Prepare
    const dates = server.add('feeds', 'indicators', generateIndicators(10));

    // Act
    const result = await run([
      'pull',
      server.apiRootUrl('feeds'),
      '--collection',
      'indicators',
      ...AUTH,
      '--added-after',
      dates[6] ?? '',
    ]);

    // Assess
    expect(result.code).toBe(0);
    const bundle = JSON.parse(result.stdout) as { objects: { id: string }[] };
    expect(bundle.objects.map((o) => o.id)).toEqual(ids(7, 3));
    expect(server.requests[0]?.query.get('added_after')).toBe(dates[6]);
  });

  it('keeps the bundle readable and the state at the last written page when the server loops', async () => {
    // Prepare: pages of 10; the server honours next once, then ignores it.
    server.add('feeds', 'indicators', generateIndicators(40));
    const state = join(dir, 'state.json');
    const out = join(dir, 'out.json');
    const args = ['pull', server.apiRootUrl('feeds'), '--collection', 'indicators', ...AUTH, '--limit', '10'];
    server.misbehave.ignoreNext = 'fresh-token';

    // Act
    const looped = await run([...args, '--state', state, '--out', out]);
    server.misbehave.ignoreNext = false;
    const resumed = await run([...args, '--state', state, '--out', join(dir, 'rest.json')]);

    // Assess
    expect(looped.code).toBe(1);
    expect(looped.stderr).toMatch(/ignoring 'next'.*stays at the last page written/);
    expect(await bundleIds(out)).toEqual(ids(0, 10));
    expect(resumed.code).toBe(0);
    expect(await bundleIds(join(dir, 'rest.json'))).toEqual(ids(10, 30));
  });

  it.each([
    ['no credentials', [], /authentication failed.*valid credentials are required/],
    ['an unknown collection', [...AUTH, '--collection', 'nope'], /not found: HTTP 404/],
  ])('exits 1 with the server message on %s', async (_what, extra, message) => {
    // Act
    const result = await run(['pull', server.apiRootUrl('feeds'), '--collection', 'indicators', ...extra]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it.each([
    ['no action', [], /expected 'pull'/],
    ['no URL', ['pull'], /exactly one API_ROOT_URL/],
    ['a URL that is not http', ['pull', 'ftp://x/', '--collection', 'c'], /http\(s\) URL/],
    ['no collection', ['pull', 'http://127.0.0.1:9/root/'], /--collection ID is required/],
    [
      'token and user',
      ['pull', 'http://127.0.0.1:9/r/', '--collection', 'c', '--token', 't', '--user', 'u'],
      /not both/,
    ],
    [
      'user without password',
      ['pull', 'http://127.0.0.1:9/r/', '--collection', 'c', '--user', 'u'],
      /go together/,
    ],
    [
      'a bad --added-after',
      ['pull', 'http://127.0.0.1:9/r/', '--collection', 'c', '--added-after', 'now'],
      /RFC 3339/,
    ],
    [
      'a bad --limit',
      ['pull', 'http://127.0.0.1:9/r/', '--collection', 'c', '--limit', '0'],
      /positive integer/,
    ],
  ])('rejects %s with a usage error', async (_what, args, message) => {
    await expect(run(args)).rejects.toThrow(UsageError);
    await expect(run(args)).rejects.toThrow(message);
  });

  it.each([
    ['not JSON', 'nope', /is not JSON/],
    [
      'another collection',
      JSON.stringify({ apiRoot: 'http://x/', collection: 'c', cursor: { seen: [] } }),
      /belongs to/,
    ],
    [
      'a bad cursor',
      JSON.stringify({ apiRoot: 'http://x/', collection: 'c', cursor: { addedAfter: 'x' } }),
      /not a TAXII pull state/,
    ],
  ])('refuses a state file that is %s', async (_what, content, message) => {
    // Prepare
    const state = join(dir, 'state.json');
    await writeFile(state, content);

    // Act
    const result = run(['pull', 'http://x/', '--collection', 'other', '--state', state]);

    // Assess
    await expect(result).rejects.toThrow(message);
  });

  it('runs end to end through bin/cti-ingest.ts', async () => {
    // Prepare
    server.add('feeds', 'indicators', generateIndicators(5));
    const out = join(dir, 'bundle.json');

    // Act
    // `node --import tsx` is what `npx tsx` runs, without npx's start-up cost.
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/cti-ingest.ts',
        'taxii',
        'pull',
        server.apiRootUrl('feeds'),
        '--collection',
        'indicators',
        ...AUTH,
        '--out',
        out,
      ],
      { cwd: new URL('../..', import.meta.url).pathname },
    );

    // Assess
    expect(await bundleIds(out)).toEqual(ids(0, 5));
    expect(JSON.parse(stderr)).toMatchObject({ pages: 1, objects: 5 });
  });
});
