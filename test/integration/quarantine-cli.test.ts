import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { ipv4Bundle } from './bundles.ts';
import { pipelineClient } from './pipeline-client.ts';

/** `cti-ingest quarantine` against the template-driven local runtime: routes, grants and environment as deployed. */
describe('cti-ingest quarantine', () => {
  const pipeline = inject('pipeline');
  const client = pipelineClient();
  afterAll(() => client.close());
  const quarantine = (...args: string[]) =>
    runCli(['quarantine', ...args, '--endpoint', pipeline.url, '--api-key', pipeline.apiKey]);

  it('lists, shows and releases a record quarantined for its size: it loads and the counts stay exact', async () => {
    // Prepare: one indicator whose 300 KB label no queue message holds: extract quarantines it.
    const bundle = ipv4Bundle('55.6.6', 0xc0de0000, [{ labels: ['x'.repeat(300 * 1024)] }], 1);
    const documentId = await client.push(
      'quarantine-cli',
      'application/stix+json',
      Buffer.from(JSON.stringify(bundle)),
    );
    const before = (await client.settled([documentId])).get(documentId);

    // Act
    const list = await quarantine('list', '--document', documentId);
    const [listed] = list.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; value: string });
    const show = await quarantine('show', listed?.id ?? '');
    const release = await quarantine('release', listed?.id ?? '', '--note', 'the label is not needed');
    const after = (await client.settled([documentId])).get(documentId);
    const noNote = await quarantine('discard', listed?.id ?? '');

    // Assess
    expect(before?.counts).toMatchObject({ records: 1, quarantined: 1, loaded: 0 });
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(listed).toMatchObject({ value: '55.6.6.1', status: 'quarantined', stage: 'extract' });
    expect(JSON.parse(show.stdout)).toMatchObject({ id: listed?.id, documentId, status: 'quarantined' });
    expect(JSON.parse(release.stdout)).toEqual({ id: listed?.id, outcome: 'released' });
    expect(after?.counts).toMatchObject({ records: 1, quarantined: 0, loaded: 1, failed: 0 });
    expect((await client.indicators('ipv4')).map((i) => i.value)).toContain('55.6.6.1');
    expect(JSON.parse((await quarantine('show', listed?.id ?? '')).stdout)).toMatchObject({
      status: 'released',
      note: 'the label is not needed',
    });
    expect(noNote.code).toBe(2);
    expect(noNote.stderr).toMatch(/--note WHY/);
  });
});
