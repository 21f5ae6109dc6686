import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { pipelineClient } from './pipeline-client.ts';

/** `cti-ingest replay` against the template-driven local runtime: routes, grants and environment as deployed. */
describe('cti-ingest replay', () => {
  const pipeline = inject('pipeline');
  const client = pipelineClient();
  afterAll(() => client.close());
  const replay = (...args: string[]) =>
    runCli(['replay', ...args, '--endpoint', pipeline.url, '--api-key', pipeline.apiKey]);
  const counts = async (documentId: string) =>
    (await (await client.get(`/status/pipelines/${documentId}`)).json()) as {
      status: string;
      counts: Record<string, number>;
    };
  const mine = async () =>
    (await client.indicators('ipv4'))
      .filter((i) => i.value.startsWith('53.4.4.'))
      .sort((a, b) => (a.value < b.value ? -1 : 1));

  it('replays a loaded document and a feed under new ids; what was loaded does not change', async () => {
    // Prepare
    const feed = 'replay-cli';
    const since = new Date().toISOString();
    const documentId = await client.push(
      feed,
      'text/plain',
      new TextEncoder().encode('c2 53.4.4.1 and 53.4.4.2'),
    );
    await client.settled([documentId]);
    const before = { ledger: await counts(documentId), indicators: await mine() };

    // Act
    const one = await replay('--document', documentId);
    const feedRun = await replay('--feed', feed, '--since', since);
    const replays = [...one.stdout.trim().split('\n'), ...feedRun.stdout.trim().split('\n')].map(
      (line) => JSON.parse(line) as { documentId: string; replayOf: string },
    );
    const settled = await client.settled(replays.map((r) => r.documentId));

    // Assess
    expect({ code: one.code, stderr: one.stderr }).toEqual({ code: 0, stderr: '' });
    expect(feedRun.code).toBe(0);
    expect(replays.map((r) => r.replayOf)).toEqual([documentId, documentId]);
    for (const r of replays) expect(settled.get(r.documentId)?.replayOf).toBe(documentId);
    for (const r of replays)
      expect(settled.get(r.documentId)?.counts).toMatchObject({
        records: 2,
        duplicates: 2,
        loaded: 0,
        failed: 0,
      });
    expect(await counts(documentId)).toEqual(before.ledger);
    expect(before.indicators).toHaveLength(2);
    expect(await mine()).toEqual(before.indicators);
  });

  it('exits 2 when given neither --document nor --feed', async () => {
    const run = await replay();
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/give one of --document ID or --feed ID/);
  });
});
