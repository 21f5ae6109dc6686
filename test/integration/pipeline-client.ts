import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { postDocument } from '../../lib/cli/push.ts';
import { type DocumentStatus, isDone, PipelineStatusSchema } from '../../lib/local/summary.ts';

/** Talks to the pipeline the global setup started: its HTTP API, and its tables for what the API hides. */
export function pipelineClient() {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const pipeline = inject('pipeline');
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const ddb = new DynamoDBClient({ region: 'us-east-1', credentials, endpoint: pipeline.endpoints.dynamodb });
  const doc = DynamoDBDocumentClient.from(ddb);
  const s3 = new S3Client({
    region: 'us-east-1',
    credentials,
    endpoint: pipeline.endpoints.s3,
    forcePathStyle: true,
  });
  const { url, apiKey, resources } = pipeline;

  const get = async (path: string, key: string | undefined = apiKey): Promise<Response> =>
    fetch(`${url}${path}`, { headers: key ? { 'x-api-key': key } : {} });

  return {
    url,
    apiKey,
    resources,
    push: (feedId: string, contentType: string, body: Uint8Array) =>
      postDocument({ endpoint: url, apiKey, feedId, contentType, body }),
    /** A raw POST, for the refusals. */
    post: (feedId: string, init: { headers: Record<string, string>; body: Uint8Array | string }) =>
      fetch(`${url}/feeds/${feedId}/documents`, { method: 'POST', ...init }),
    get,

    /** Wait until every document is complete with all records accounted for; returns their statuses. */
    async settled(ids: readonly string[], timeoutMs = 30_000): Promise<Map<string, DocumentStatus>> {
      const found = new Map<string, DocumentStatus>();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const parsed = PipelineStatusSchema.parse(await (await get('/status/pipelines?limit=200')).json());
        for (const d of parsed.documents) if (ids.includes(d.documentId)) found.set(d.documentId, d);
        if (ids.every((id) => found.get(id) && isDone(found.get(id) as DocumentStatus))) return found;
        if (Date.now() > deadline)
          throw new Error(
            `documents not settled in time: ${JSON.stringify(ids.map((id) => found.get(id) ?? id))}`,
          );
        await new Promise((r) => setTimeout(r, 200));
      }
    },

    /** Every indicator of a type, following cursors. */
    async indicators(
      type: string,
    ): Promise<{ type: string; value: string; fingerprint: string; sources: unknown }[]> {
      const all: { type: string; value: string; fingerprint: string; sources: unknown }[] = [];
      let cursor: string | undefined;
      do {
        const query = new URLSearchParams({ type, limit: '500', ...(cursor ? { cursor } : {}) });
        const response = await get(`/indicators?${query}`);
        if (response.status !== 200)
          throw new Error(`GET /indicators: ${response.status} ${await response.text()}`);
        const body = (await response.json()) as { indicators: typeof all; cursor?: string | null };
        all.push(...body.indicators);
        cursor = body.cursor ?? undefined;
      } while (cursor);
      return all;
    },

    async quarantined(documentId: string): Promise<Record<string, unknown>[]> {
      const out = await doc.send(
        new QueryCommand({
          TableName: resources.tables.quarantine,
          KeyConditionExpression: 'documentId = :d',
          ExpressionAttributeValues: { ':d': documentId },
        }),
      );
      return out.Items ?? [];
    },

    /** What a refused request must not change: archived objects, ledger entries, feed items. */
    async footprint(): Promise<{ objects: number; ledger: number; feeds: number }> {
      const objects = await s3.send(new ListObjectsV2Command({ Bucket: resources.buckets.rawArchive }));
      const count = async (table: string): Promise<number> =>
        (await doc.send(new ScanCommand({ TableName: table, Select: 'COUNT' }))).Count ?? 0;
      return {
        objects: objects.KeyCount ?? 0,
        ledger: await count(resources.tables.documentLedger),
        feeds: await count(resources.tables.feeds),
      };
    },

    close(): void {
      ddb.destroy();
      s3.destroy();
    },
  };
}
