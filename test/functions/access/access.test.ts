/**
 * Who gets in, on dynalite and the local Secrets Manager: keys stored only as hashes, the REST API's
 * authorizer turning a key into a policy for exactly its role's routes, the operator's key routes, and the
 * deploy-time provisioning of the feeds file and the operator key.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRequest } from '../../../functions/admin-api/admin-api.ts';
import { authorize } from '../../../functions/authorizer/authorizer.ts';
import type { Caller } from '../../../functions/domain/access.ts';
import { PHYSICAL_ID, provision } from '../../../functions/provision/provision.ts';
import { ApiKeyStore, hashApiKey, OPERATOR_KEY_ID } from '../../../functions/shared/api-keys.ts';
import type { CustomResourceEvent } from '../../../functions/shared/cfn-response.ts';
import { silentLog } from '../../../functions/shared/observability.ts';
import { SEED_RULE_SET } from '../../helpers/rule-sets.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent } from '../support/events.ts';
import { startTestSecrets, type TestSecrets } from '../support/secrets.ts';

const BASE = 'arn:aws:execute-api:us-east-1:000000000000:api123/prod';
const OPERATOR: Caller = { keyId: OPERATOR_KEY_ID, role: 'operator', tlp: 'red', feeds: [] };
const OPERATOR_SECRET = 'operator-key-secret-value-0123456789';

let aws: TestAws;
let testSecrets: TestSecrets;
let secrets: SecretsManagerClient;
let secretArn: string;
let keys: ApiKeyStore;

beforeAll(async () => {
  aws = await startTestAws();
  testSecrets = await startTestSecrets();
  secrets = testSecrets.client;
  secretArn = await testSecrets.create('operator-key', OPERATOR_SECRET);
  keys = new ApiKeyStore(aws.doc, aws.tables.apiKeys);
});

afterAll(async () => {
  await testSecrets?.stop();
  await aws?.stop();
});

const allItems = async (table: string) =>
  (await aws.doc.send(new ScanCommand({ TableName: table }))).Items ?? [];

function authorizerEvent(apiKey: string | undefined, route = 'POST/feeds/acme-feed/documents') {
  return {
    type: 'REQUEST',
    methodArn: `${BASE}/${route}`,
    headers: apiKey === undefined ? {} : { 'X-Api-Key': apiKey },
  } as unknown as APIGatewayRequestAuthorizerEvent;
}

describe('ApiKeyStore', () => {
  it('stores a key only as its sha256, and authenticates it to its role, ceiling and feeds', async () => {
    // Act
    await keys.put(
      { keyId: 'k-store', role: 'reader', tlp: 'amber', feeds: ['acme-feed'] },
      'secret-store-1',
    );
    // Assess
    const items = await allItems(aws.tables.apiKeys);
    expect(JSON.stringify(items)).not.toContain('secret-store-1');
    expect(JSON.stringify(items)).toContain(hashApiKey('secret-store-1'));
    expect(await keys.authenticate('secret-store-1')).toEqual({
      keyId: 'k-store',
      role: 'reader',
      tlp: 'amber',
      feeds: ['acme-feed'],
    });
    expect(await keys.authenticate('secret-store-2')).toBeUndefined();
  });

  it('refuses the old secret from the moment a key is rotated, and every secret once it is revoked', async () => {
    // Prepare
    await keys.put({ keyId: 'k-rotate', role: 'provider', tlp: 'clear', feeds: ['acme-feed'] }, 'old-secret');
    // Act
    const rotated = await keys.put(
      { keyId: 'k-rotate', role: 'provider', tlp: 'clear', feeds: ['acme-feed'] },
      'new-secret',
    );
    // Assess
    expect(rotated.rotatedAt).toBeDefined();
    expect(await keys.authenticate('old-secret')).toBeUndefined();
    expect(await keys.authenticate('new-secret')).toMatchObject({ keyId: 'k-rotate' });
    expect(await keys.revoke('k-rotate')).toBe(true);
    expect(await keys.authenticate('new-secret')).toBeUndefined();
    expect(await keys.revoke('k-rotate')).toBe(false);
    expect((await keys.list()).map((k) => k.keyId)).not.toContain('k-rotate');
  });
});

describe('authorize (the REST API authorizer)', () => {
  beforeAll(async () => {
    await keys.put(
      { keyId: 'k-provider', role: 'provider', tlp: 'clear', feeds: ['acme-feed'] },
      'provider-1',
    );
    await keys.put({ keyId: 'k-reader', role: 'reader', tlp: 'green', feeds: [] }, 'reader-1');
  });
  const decide = (apiKey: string | undefined, route?: string) =>
    authorize({ keys, log: silentLog }, authorizerEvent(apiKey, route));

  it("allows a provider exactly its own feeds' push route, and names it in the context", async () => {
    // Act
    const result = await decide('provider-1');
    // Assess
    expect(result.principalId).toBe('k-provider');
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: [`${BASE}/POST/feeds/acme-feed/documents`] },
    ]);
    expect(result.context).toEqual({
      keyId: 'k-provider',
      role: 'provider',
      tlp: 'clear',
      feeds: 'acme-feed',
    });
  });

  it('allows a reader the read routes and none of the push or key routes', async () => {
    // Act
    const result = await decide('reader-1', 'GET/indicators');
    // Assess
    const statement = result.policyDocument.Statement[0] as { Effect: string; Resource: string[] };
    expect(statement.Effect).toBe('Allow');
    expect(statement.Resource).toContain(`${BASE}/GET/indicators`);
    expect(statement.Resource.some((r) => r.includes('/POST/'))).toBe(false);
    expect(statement.Resource.some((r) => r.includes('/keys'))).toBe(false);
  });

  it.each([
    ['Authorization: Bearer', { Authorization: 'Bearer reader-1' }],
    ['Authorization: Token (taxii2-client)', { authorization: 'Token reader-1' }],
    [
      'HTTP Basic, the key as password',
      { Authorization: `Basic ${Buffer.from('any-user:reader-1').toString('base64')}` },
    ],
  ])('takes the key from %s as from x-api-key', async (_name, headers) => {
    // Act
    const result = await authorize({ keys, log: silentLog }, {
      type: 'REQUEST',
      methodArn: `${BASE}/GET/taxii2`,
      headers,
    } as unknown as APIGatewayRequestAuthorizerEvent);
    // Assess
    expect(result.principalId).toBe('k-reader');
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
  });

  it.each([
    ['no header', {}],
    ['an empty bearer', { Authorization: 'Bearer ' }],
    ['Basic without a password', { Authorization: `Basic ${Buffer.from('user:').toString('base64')}` }],
    ['another scheme', { Authorization: 'Digest username="x"' }],
  ])('answers Unauthorized (API Gateway: 401) to a request with %s', async (_name, headers) => {
    await expect(
      authorize({ keys, log: silentLog }, {
        type: 'REQUEST',
        methodArn: `${BASE}/GET/indicators`,
        headers,
      } as unknown as APIGatewayRequestAuthorizerEvent),
    ).rejects.toThrow(/^Unauthorized$/);
  });

  it.each([
    ['an unknown key', 'no-such-key'],
    ['an unknown bearer token', undefined],
  ])('denies %s on every route of the stage, with no context', async (_name, apiKey) => {
    // Act
    const result =
      apiKey === undefined
        ? await authorize({ keys, log: silentLog }, {
            type: 'REQUEST',
            methodArn: `${BASE}/GET/indicators`,
            headers: { Authorization: 'Bearer no-such-token' },
          } as unknown as APIGatewayRequestAuthorizerEvent)
        : await decide(apiKey);
    // Assess
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: `${BASE}/*` },
    ]);
    expect(result.context).toBeUndefined();
  });
});

describe('adminRequest (operator key routes)', () => {
  const call = (
    method: string,
    resource: string,
    options: { body?: unknown; keyId?: string; caller?: Caller } = {},
  ) =>
    adminRequest(
      { keys, secrets, operatorKeySecretArn: secretArn, log: silentLog },
      apiEvent({
        method,
        resource,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.keyId ? { pathParameters: { keyId: options.keyId } } : {}),
        caller: options.caller ?? OPERATOR,
      }),
    );

  it('refuses every caller but an operator (403), whatever the authorizer let through', async () => {
    // Act
    const response = await call('POST', '/keys', {
      body: { feeds: ['acme-feed'] },
      caller: { keyId: 'k-reader', role: 'reader', tlp: 'green', feeds: [] },
    });
    // Assess
    expect(response.statusCode).toBe(403);
  });

  it('creates a provider key for --feed alone, shows its secret once, and lists it without', async () => {
    // Act
    const created = await call('POST', '/keys', { body: { feeds: ['acme-feed'] } });
    const body = JSON.parse(created.body) as { keyId: string; apiKey: string; role: string };
    const listed = await call('GET', '/keys');
    // Assess
    expect(created.statusCode).toBe(201);
    expect(body.role).toBe('provider');
    expect(await keys.authenticate(body.apiKey)).toMatchObject({ keyId: body.keyId, feeds: ['acme-feed'] });
    expect(listed.body).toContain(body.keyId);
    expect(listed.body).not.toContain(body.apiKey);
    expect(listed.body).not.toContain('keyHash');
  });

  it.each([
    ['a provider key without feeds', { role: 'provider' }, /a provider key needs at least one feed/],
    ['a TLP ceiling on a provider key', { feeds: ['acme-feed'], tlp: 'red' }, /applies to readers/],
    ['an unknown role', { role: 'admin' }, /role/],
    ['an unknown field', { feeds: ['acme-feed'], owner: 'x' }, /owner|Unrecognized/],
    ['a bad feed id', { feeds: ['a'] }, /feed ids are 3-64/],
  ])('answers 400 naming the problem for %s', async (_name, body, message) => {
    // Act
    const response = await call('POST', '/keys', { body });
    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(message);
  });

  it("gives a reader key the green ceiling by default, and keeps a reader's feeds", async () => {
    // Act
    const response = await call('POST', '/keys', { body: { role: 'reader', feeds: ['acme-feed'] } });
    // Assess
    expect(JSON.parse(response.body)).toMatchObject({ role: 'reader', tlp: 'green', feeds: ['acme-feed'] });
  });

  it("rotates the operator key and rewrites the stack's secret, so a redeploy keeps the new one", async () => {
    // Prepare
    await keys.put({ keyId: OPERATOR_KEY_ID, role: 'operator', tlp: 'red', feeds: [] }, OPERATOR_SECRET);
    // Act
    const response = await call('POST', '/keys/{keyId}/rotate', { keyId: OPERATOR_KEY_ID });
    // Assess
    const { apiKey } = JSON.parse(response.body) as { apiKey: string };
    expect(response.statusCode).toBe(200);
    expect((await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString).toBe(
      apiKey,
    );
    expect(await keys.authenticate(OPERATOR_SECRET)).toBeUndefined();
    expect(await keys.authenticate(apiKey)).toMatchObject({ role: 'operator' });
  });

  it('does not revoke the operator key (400) and answers 404 for a key that does not exist', async () => {
    // Act
    const operator = await call('DELETE', '/keys/{keyId}', { keyId: OPERATOR_KEY_ID });
    const missing = await call('DELETE', '/keys/{keyId}', { keyId: 'k-missing' });
    const rotateMissing = await call('POST', '/keys/{keyId}/rotate', { keyId: 'k-missing' });
    // Assess
    expect([operator.statusCode, missing.statusCode, rotateMissing.statusCode]).toEqual([400, 404, 404]);
  });
});

describe('provision (the deploy-time custom resource)', () => {
  const event = (RequestType: 'Create' | 'Update' | 'Delete', document: unknown): CustomResourceEvent => ({
    RequestType,
    ResponseURL: 'https://cloudformation-custom-resource-response.example/put',
    StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/Test/1',
    RequestId: 'r-1',
    LogicalResourceId: 'Provisioning',
    ...(RequestType === 'Create' ? {} : { PhysicalResourceId: PHYSICAL_ID }),
    ResourceType: 'Custom::CtiProvisioning',
    ResourceProperties: { FeedsDocument: JSON.stringify(document), OperatorKeySecretArn: secretArn },
  });
  const run = (request: CustomResourceEvent) =>
    provision(
      { doc: aws.doc, secrets, keys, feedsTable: aws.tables.feeds, now: () => new Date(), log: silentLog },
      request,
    );
  const feedItem = async (feedId: string) =>
    (await aws.doc.send(new GetCommand({ TableName: aws.tables.feeds, Key: { feedId } }))).Item;

  const DOCUMENT = {
    ruleSets: { 'source-checked': SEED_RULE_SET },
    feeds: [
      { id: 'prov-csv', format: 'csv', preset: 'urlhaus', ruleSet: 'source-checked', dedupWindowHours: 6 },
      { id: 'prov-strict', format: 'stix', ruleSet: 'strict' },
      { id: 'prov-gone', format: 'json' },
    ],
  };

  it('writes every feed with what the pipeline reads, its named rule set inline, and the operator key hashed', async () => {
    // Act
    const result = await run(event('Create', DOCUMENT));
    // Assess
    expect(result).toEqual({ physicalResourceId: PHYSICAL_ID, data: { FeedCount: '3' } });
    const csv = await feedItem('prov-csv');
    expect(csv).toMatchObject({
      enabled: true,
      provisioned: true,
      config: { id: 'prov-csv', format: 'csv', preset: 'urlhaus', dedupWindowHours: 6 },
      ruleSet: { name: 'source-checked', failureAction: 'quarantine' },
    });
    // A built-in rule set stays a name the validate stage resolves.
    expect(await feedItem('prov-strict')).toMatchObject({ config: { ruleSet: 'strict' } });
    expect((await feedItem('prov-strict'))?.['ruleSet']).toBeUndefined();
    const secret =
      (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString ?? '';
    expect(await keys.authenticate(secret)).toMatchObject({ keyId: OPERATOR_KEY_ID, role: 'operator' });
  });

  it('on a redeploy without a feed, disables it and keeps its item; on delete, disables every feed', async () => {
    // Prepare
    await run(event('Create', DOCUMENT));
    // Act
    await run(event('Update', { ...DOCUMENT, feeds: DOCUMENT.feeds.slice(0, 2) }));
    // Assess
    expect(await feedItem('prov-gone')).toMatchObject({ enabled: false, config: { id: 'prov-gone' } });
    expect(await feedItem('prov-csv')).toMatchObject({ enabled: true });
    // Act
    await run(event('Delete', DOCUMENT));
    // Assess
    expect((await feedItem('prov-csv'))?.['enabled']).toBe(false);
    expect((await feedItem('prov-strict'))?.['enabled']).toBe(false);
  });

  it.each([
    [
      'an unknown rule set',
      { feeds: [{ id: 'bad-rules', format: 'json', ruleSet: 'nope' }] },
      /feeds\.0\.ruleSet: unknown rule set 'nope'/,
    ],
    [
      'a duplicate feed id',
      {
        feeds: [
          { id: 'twice', format: 'json' },
          { id: 'twice', format: 'json' },
        ],
      },
      /feeds\.1\.id: duplicate feed id twice/,
    ],
    [
      'a bad feed key',
      { feeds: [{ id: 'bad-key', format: 'json', dedupWindowHours: -1 }] },
      /feeds\.0\.dedupWindowHours/,
    ],
    [
      'a bad rule set',
      { ruleSets: { loose: { rules: [{ kind: 'range', field: 'confidence', min: 'x' }] } }, feeds: [] },
      /ruleSets\.loose/,
    ],
  ])('fails the deploy on %s, naming the key, before writing anything', async (_name, document, message) => {
    // Prepare
    const before = await allItems(aws.tables.feeds);
    // Act
    const attempt = run(event('Update', document));
    // Assess
    await expect(attempt).rejects.toThrow(message);
    expect(await allItems(aws.tables.feeds)).toEqual(before);
  });
});
