import { randomUUID } from 'node:crypto';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtractHandler } from '../../../functions/extract/extract.ts';
import { acceptDocument } from '../../../functions/shared/intake.ts';
import { operatorRequest } from '../support/admin.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { context, drainQueue, kinesisEventOf } from '../support/events.ts';
import { runDownstream, type StageDeps, stageDeps } from '../support/pipeline.ts';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => aws?.stop());

function replayRoute(
  deps: StageDeps,
  resource: '/documents/{documentId}/replay' | '/feeds/{feedId}/replay',
  pathParameters: Record<string, string>,
  body?: unknown,
) {
  return operatorRequest(
    { replay: { ...deps.ingest.intake, ledger: deps.ledger } },
    { method: 'POST', resource, pathParameters, body },
  );
}

/** A document through every stage: extract its claim check, then validate, dedup and load. */
async function carry(deps: StageDeps, documentId: string): Promise<void> {
  await createExtractHandler(deps.extract)(await kinesisEventOf(aws, documentId), context);
  await runDownstream(aws, deps);
}

/** The stored indicators with these values, as DynamoDB holds them (sources, sightings, times). */
async function stored(values: string[]) {
  const out = await aws.doc.send(new ScanCommand({ TableName: aws.tables.indicators }));
  return (out.Items ?? [])
    .filter((i) => values.includes(String(i.value)))
    .sort((a, b) => (a.value < b.value ? -1 : 1));
}

/** Counts and status of a ledger entry, without what changes on every write. */
async function countsOf(deps: StageDeps, documentId: string) {
  const item = await deps.ledger.get(documentId);
  if (!item) return undefined;
  const { applied: _a, updatedAt: _u, completedAt: _c, ...rest } = item;
  return rest;
}

describe('replay from the raw archive', () => {
  it('gives a loaded document a new entry that completes; nothing already loaded changes, sightings included', async () => {
    // Prepare: a document carried to the store.
    for (const q of Object.values(aws.queues)) await drainQueue(aws, q);
    const deps = stageDeps(aws);
    const values = ['52.1.1.1', '52.1.1.2'];
    const { documentId } = await acceptDocument(deps.ingest.intake, {
      feedId: 'feed-r',
      format: 'text',
      body: new TextEncoder().encode(`c2 at ${values.join(' and ')}`),
      origin: 'push',
    });
    await carry(deps, documentId);
    const original = await countsOf(deps, documentId);
    const before = await stored(values);

    // Act: a replay inside the dedup window, then one after it (the dedup markers gone), so the load merge
    // itself meets the same reports again.
    const first = await replayRoute(deps, '/documents/{documentId}/replay', { documentId });
    const [replay] = JSON.parse(first.body).replays as { documentId: string; replayOf: string }[];
    await carry(deps, replay?.documentId ?? '');
    const markers = await aws.doc.send(new ScanCommand({ TableName: aws.tables.dedup }));
    for (const m of markers.Items ?? [])
      await aws.doc.send(new DeleteCommand({ TableName: aws.tables.dedup, Key: { dedupKey: m.dedupKey } }));
    const second = JSON.parse(
      (await replayRoute(deps, '/documents/{documentId}/replay', { documentId })).body,
    );
    await carry(deps, second.replays[0].documentId);

    // Assess
    expect(original).toMatchObject({ status: 'complete', records: 2, loaded: 2 });
    expect(first.statusCode).toBe(202);
    expect(replay?.replayOf).toBe(documentId);
    expect(replay?.documentId).not.toBe(documentId);
    expect(await countsOf(deps, replay?.documentId ?? '')).toMatchObject({
      status: 'complete',
      replayOf: documentId,
      records: 2,
      duplicates: 2,
      loaded: 0,
      failed: 0,
    });
    expect(await countsOf(deps, second.replays[0].documentId)).toMatchObject({
      status: 'complete',
      replayOf: documentId,
      records: 2,
      failed: 0,
    });
    expect(await countsOf(deps, documentId)).toEqual(original);
    expect(before).toHaveLength(2);
    expect(before.map((i) => i.sources['feed-r'].sightings)).toEqual([1, 1]);
    expect(await stored(values)).toEqual(before);
  });

  it("replays a feed's documents since a time, not its replays, and names each one replayed", async () => {
    // Prepare: two documents of a feed, the first before `since`, and a replay of the second.
    const deps = stageDeps(aws);
    const feedId = `feed-${randomUUID().slice(0, 8)}`;
    const at = (iso: string) => ({ ...deps.ingest.intake, now: () => new Date(iso) });
    const push = (iso: string, text: string) =>
      acceptDocument(at(iso), {
        feedId,
        format: 'text',
        body: new TextEncoder().encode(text),
        origin: 'push',
      });
    await push('2026-12-01T00:00:00.000Z', 'old 52.2.2.1');
    const { documentId: recent } = await push('2026-12-02T00:00:00.000Z', 'recent 52.2.2.2');
    const replayed = JSON.parse(
      (await replayRoute(deps, '/documents/{documentId}/replay', { documentId: recent })).body,
    );
    // A replay of that replay is one of the original.
    const again = JSON.parse(
      (
        await replayRoute(deps, '/documents/{documentId}/replay', {
          documentId: replayed.replays[0].documentId,
        })
      ).body,
    );

    // Act
    const res = await replayRoute(
      deps,
      '/feeds/{feedId}/replay',
      { feedId },
      { since: '2026-12-01T12:00:00Z' },
    );

    // Assess
    expect(again.replays[0].replayOf).toBe(recent);
    expect(res.statusCode).toBe(202);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ skipped: 0, next: null });
    expect(body.replays.map((r: { replayOf: string }) => r.replayOf)).toEqual([recent]);
    expect(await deps.ledger.get(body.replays[0].documentId)).toMatchObject({
      feedId,
      replayOf: recent,
      status: 'processing',
    });
  });

  it.each([
    ['/feeds/{feedId}/replay', { feedId: 'feed-r' }, { since: 'yesterday' }, 400, /^since: /],
    ['/feeds/{feedId}/replay', { feedId: 'feed-r' }, { until: '2026-12-01T00:00:00Z' }, 400, /until/],
    ['/feeds/{feedId}/replay', { feedId: 'x' }, undefined, 400, /^feedId: /],
    ['/documents/{documentId}/replay', { documentId: 'no-such-document' }, undefined, 404, /no document/],
  ] as const)('POST %s %j %j answers %i', async (resource, params, body, status, message) => {
    // Act
    const res = await replayRoute(stageDeps(aws), resource, params, body);
    // Assess
    expect(res.statusCode).toBe(status);
    expect(JSON.parse(res.body).error).toMatch(message);
  });
});
