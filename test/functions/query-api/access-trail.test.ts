/** The access trail: every read and every operator action in the Audit table, before it is answered. */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApiHandler } from '../../../functions/admin-api/admin-api.ts';
import type { Caller } from '../../../functions/domain/access.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { AccessAudit } from '../../../functions/shared/access-audit.ts';
import { ApiKeyStore } from '../../../functions/shared/api-keys.ts';
import { silentLog } from '../../../functions/shared/observability.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { startTestSecrets, type TestSecrets } from '../support/secrets.ts';

const READER: Caller = { keyId: 'k-reader-1', role: 'reader', tlp: 'green', feeds: [] };
const OPERATOR: Caller = { keyId: 'operator', role: 'operator', tlp: 'red', feeds: [] };
let aws: TestAws;
let secrets: TestSecrets;

beforeAll(async () => {
  aws = await startTestAws();
  secrets = await startTestSecrets();
});
afterAll(async () => {
  await secrets?.stop();
  await aws?.stop();
});

async function trail(): Promise<Record<string, unknown>[]> {
  const out = await aws.doc.send(
    new QueryCommand({
      TableName: aws.tables.audit,
      KeyConditionExpression: 'documentId = :d',
      ExpressionAttributeValues: { ':d': `access#${new Date().toISOString().slice(0, 10)}` },
    }),
  );
  return out.Items ?? [];
}

describe('the access trail', () => {
  it('records a read: who, the route, its filters (not the cursor), the status and how many items it returned', async () => {
    // Prepare
    const deps = { ...stageDeps(aws).query, access: new AccessAudit(aws.doc, aws.tables.audit) };
    // Act
    const res = await createQueryApiHandler(deps)(
      apiEvent({
        resource: '/indicators',
        query: { type: 'domain', limit: '5', cursor: 'x' },
        caller: READER,
      }),
      context,
    );
    const refused = await createQueryApiHandler(deps)(
      apiEvent({ resource: '/indicators', query: { tpye: 'domain' }, caller: READER }),
      context,
    );
    // Assess
    expect([res.statusCode, refused.statusCode]).toEqual([400, 400]);
    const reads = (await trail()).filter((i) => i['keyId'] === 'k-reader-1');
    expect(reads).toEqual([
      expect.objectContaining({ role: 'reader', method: 'GET', route: '/indicators', status: 400 }),
      expect.objectContaining({ filters: { tpye: 'domain' }, status: 400 }),
    ]);
  });

  it('records a successful read with the count it returned', async () => {
    // Prepare
    const deps = { ...stageDeps(aws).query, access: new AccessAudit(aws.doc, aws.tables.audit) };
    // Act
    const res = await createQueryApiHandler(deps)(
      apiEvent({
        resource: '/indicators',
        query: { type: 'domain', limit: '5' },
        caller: { ...READER, keyId: 'k-reader-2' },
      }),
      context,
    );
    // Assess
    expect(res.statusCode).toBe(200);
    expect((await trail()).filter((i) => i['keyId'] === 'k-reader-2')).toEqual([
      expect.objectContaining({
        route: '/indicators',
        filters: { type: 'domain', limit: '5' },
        status: 200,
        returned: 0,
      }),
    ]);
  });

  it("records an operator's key creation with the new key's role and feeds, never its secret", async () => {
    // Prepare
    const arn = await secrets.create('op', 'x'.repeat(32));
    const handler = createAdminApiHandler({
      keys: new ApiKeyStore(aws.doc, aws.tables.apiKeys),
      secrets: secrets.client,
      operatorKeySecretArn: arn,
      log: silentLog,
      access: new AccessAudit(aws.doc, aws.tables.audit),
    });
    // Act
    const res = await handler(
      apiEvent({
        method: 'POST',
        resource: '/keys',
        body: JSON.stringify({ feeds: ['trail-feed'] }),
        caller: OPERATOR,
      }),
      context,
    );
    // Assess
    const { apiKey, keyId } = JSON.parse(res.body) as { apiKey: string; keyId: string };
    const actions = (await trail()).filter((i) => i['keyId'] === 'operator');
    expect(actions).toEqual([
      expect.objectContaining({
        method: 'POST',
        route: '/keys',
        status: 201,
        filters: { keyId, role: 'provider', tlp: 'clear', feeds: 'trail-feed' },
      }),
    ]);
    expect(JSON.stringify(await trail())).not.toContain(apiKey);
  });

  it('does not answer a read it cannot record (500, fail closed)', async () => {
    // Prepare
    const deps = {
      ...stageDeps(aws).query,
      access: {
        record: async () => {
          throw new Error('audit table unavailable');
        },
      },
    };
    // Act
    const res = await createQueryApiHandler(deps)(
      apiEvent({ resource: '/indicators', caller: READER }),
      context,
    );
    // Assess
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('indicators');
  });

  it('serves one day of the trail to operators (GET /audit, by key), and refuses readers', async () => {
    // Prepare
    const deps = {
      ...stageDeps(aws).query,
      tables: { ...stageDeps(aws).query.tables, audit: aws.tables.audit },
      access: new AccessAudit(aws.doc, aws.tables.audit),
    };
    const handler = createQueryApiHandler(deps);
    await handler(apiEvent({ resource: '/metrics', caller: { ...READER, keyId: 'k-reader-3' } }), context);
    // Act
    const res = await handler(
      apiEvent({ resource: '/audit', query: { keyId: 'k-reader-3' }, caller: OPERATOR }),
      context,
    );
    const refused = await handler(apiEvent({ resource: '/audit', caller: READER }), context);
    // Assess
    expect(res.statusCode).toBe(200);
    expect((JSON.parse(res.body) as { events: unknown[] }).events).toEqual([
      expect.objectContaining({ keyId: 'k-reader-3', route: '/metrics', status: 200 }),
    ]);
    expect(refused.statusCode).toBe(403);
    // The operator's own read of the trail is on it too.
    expect((await trail()).some((i) => i['keyId'] === 'operator' && i['route'] === '/audit')).toBe(true);
  });
});
