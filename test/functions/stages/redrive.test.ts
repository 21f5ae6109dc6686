import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import { moveMessages, type RedriveTargets } from '../../../functions/shared/redrive.ts';
import { createValidateHandler } from '../../../functions/validate/validate.ts';
import { OPERATOR, operatorRequest } from '../support/admin.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { context, drainMessages, drainQueue, sqsEventFrom, sqsRecord } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { ipv4Indicator, newDocument } from '../support/records.ts';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => aws?.stop());

const READER: Caller = { keyId: 'k-reader', role: 'reader', tlp: 'green', feeds: [] };
const always = () => true;

function targets(): RedriveTargets {
  return {
    sqs: aws.sqs,
    kinesis: aws.kinesis,
    queues: {
      validate: { queueUrl: aws.queues.validate, dlqUrl: aws.dlqs.validate },
      dedup: { queueUrl: aws.queues.dedup, dlqUrl: aws.dlqs.dedup },
      load: { queueUrl: aws.queues.load, dlqUrl: aws.dlqs.load },
    },
    extract: { failureQueueUrl: aws.dlqs.extract, streamName: aws.stream },
  };
}

const redriveRoute = (queue: string, caller: Caller = OPERATOR) =>
  operatorRequest(
    { redrive: targets() },
    { method: 'POST', resource: '/redrive/{queue}', pathParameters: { queue }, caller },
  );

describe('POST /redrive/{queue}', () => {
  it('moves a failed validate message back; its records leave failed, and a second redrive changes no count', async () => {
    // Prepare: a validate message that failed on its last receive, now in the DLQ.
    for (const q of [aws.queues.validate, aws.dlqs.validate, aws.queues.dedup]) await drainQueue(aws, q);
    const deps = stageDeps(aws);
    const doc = await newDocument(aws, 2);
    const body = JSON.stringify({
      v: 1,
      documentId: doc,
      feedId: 'feed-a',
      messageKey: '0',
      indicators: ['50.1.1.1', '50.1.1.2'].map((v) =>
        ipv4Indicator(v, { feedId: 'feed-a', documentId: doc }),
      ),
    });
    const broken = createValidateHandler(
      { ...deps.validate, names: { ...deps.validate.names, dedupQueueUrl: `${aws.queues.dedup}-gone` } },
      5,
    );
    await broken({ Records: [sqsRecord(body, 5)] }, context);
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqs.validate, MessageBody: body }));
    const failed = await deps.ledger.get(doc);
    const validate = createValidateHandler(deps.validate, 5);

    // Act: redrive, and the fixed stage takes the message; then the same message redriven once more.
    const first = await redriveRoute('validate');
    await validate(await sqsEventFrom(aws, aws.queues.validate), context);
    const afterFirst = await deps.ledger.get(doc);
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqs.validate, MessageBody: body }));
    const second = await redriveRoute('validate');
    await validate(await sqsEventFrom(aws, aws.queues.validate), context);
    const empty = await redriveRoute('validate');

    // Assess
    expect(failed).toMatchObject({ records: 2, failed: 2, failedValidate: 2, status: 'complete' });
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ queue: 'validate', moved: 1, more: false });
    expect(afterFirst).toMatchObject({ records: 2, failed: 0, failedValidate: 0, validatePassed: 2 });
    expect(JSON.parse(second.body)).toMatchObject({ moved: 1 });
    expect(JSON.parse(empty.body)).toMatchObject({ moved: 0, more: false });
    const { applied: _a, updatedAt: _u, ...counts } = (await deps.ledger.get(doc)) ?? {};
    const { applied: _b, updatedAt: _v, ...countsBefore } = afterFirst ?? {};
    expect(counts).toEqual(countsBefore);
    expect((await drainQueue(aws, aws.queues.dedup)).length).toBe(2);
  });

  it('keeps a FIFO message group, the body and the message attributes when it moves the load DLQ', async () => {
    // Prepare
    for (const q of [aws.queues.load, aws.dlqs.load]) await drainQueue(aws, q);
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: aws.dlqs.load,
        MessageBody: '{"v":1,"documentId":"d","messageKey":"3"}',
        MessageGroupId: 'g7',
        MessageDeduplicationId: 'original',
        MessageAttributes: { origin: { DataType: 'String', StringValue: 'test' } },
      }),
    );

    // Act
    const result = await moveMessages(aws.sqs, aws.dlqs.load, aws.queues.load, always);
    const out = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: aws.queues.load,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );

    // Assess
    expect(result).toEqual({ moved: 1, more: false });
    expect(out.Messages).toHaveLength(1);
    expect(out.Messages?.[0]).toMatchObject({
      Body: '{"v":1,"documentId":"d","messageKey":"3"}',
      Attributes: { MessageGroupId: 'g7' },
      MessageAttributes: { origin: { DataType: 'String', StringValue: 'test' } },
    });
    expect(await drainMessages(aws, aws.dlqs.load)).toEqual([]);
  });

  it('answers 400 naming the queue for an unknown one, and 403 to a reader', async () => {
    // Act
    const unknown = await redriveRoute('quarantine');
    const reader = await redriveRoute('validate', READER);

    // Assess
    expect(unknown.statusCode).toBe(400);
    expect(JSON.parse(unknown.body).error).toMatch(/^queue: /);
    expect(reader.statusCode).toBe(403);
  });
});
