import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, writeQuarantine } from '../../../functions/shared/quarantine.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => aws?.stop());

describe('writeQuarantine', () => {
  it('stores an entry whose reason, value and excerpt are each far over 400 KB, cut to their bounds', async () => {
    // Prepare: a reason holding a 60k-column CSV header, as a parser may name it.
    const header = Array.from({ length: 60_000 }, (_, i) => `column_${i}`).join(',');
    // Act
    await writeQuarantine(
      aws.doc,
      aws.tables.quarantine,
      [
        {
          documentId: 'doc-huge-reason',
          feedId: 'feed-a',
          recordKey: 'extract#0',
          stage: 'extract',
          reason: `no indicator column in header ${header}`,
          value: 'v'.repeat(500_000),
          raw: header,
        },
      ],
      new Date(),
    );
    // Assess
    const out = await aws.doc.send(
      new QueryCommand({
        TableName: aws.tables.quarantine,
        KeyConditionExpression: 'documentId = :d',
        ExpressionAttributeValues: { ':d': 'doc-huge-reason' },
      }),
    );
    const item = out.Items?.[0] as Record<string, string>;
    expect(item['reason']).toMatch(/^no indicator column in header column_0,column_1,/);
    expect(item['reason']).toMatch(/…\(\d+ more characters\)$/);
    expect(JSON.stringify(item).length).toBeLessThan(30_000);
  });
});

describe('bounded', () => {
  it('keeps text within its bound and says how much was left out', () => {
    expect(bounded('abcdef', 10)).toBe('abcdef');
    expect(bounded('abcdef', 4)).toBe('abcd…(2 more characters)');
    expect(bounded(undefined, 4)).toBeUndefined();
  });
});
