import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, sleep } from './retry.ts';

export type SqsSend = Pick<SQSClient, 'send'>;

/** SQS allows 256 KiB per message and per batch call; stay under it with room for attributes. */
export const MAX_MESSAGE_BYTES = 240 * 1024;
const MAX_BATCH_BYTES = 250 * 1024;
const MAX_BATCH_ENTRIES = 10;

export interface OutgoingMessage {
  /** Unique within one call; also the SendMessageBatch entry id (80 chars of [A-Za-z0-9_-]). */
  id: string;
  body: string;
  /** FIFO queues: the message group (one consumer at a time per group) and the deduplication id. */
  fifo?: { groupId: string; deduplicationId: string };
  /** Message attributes, sent as given (a redrive keeps a message's own). */
  attributes?: Record<string, MessageAttributeValue>;
}

/** Entries SQS kept refusing after every retry; the records they came from must fail. */
export class SendFailedError extends Error {
  constructor(
    readonly queueUrl: string,
    readonly failed: { id: string; code: string; message: string }[],
  ) {
    super(
      `${failed.length} message(s) not accepted by ${queueUrl}: ${failed
        .slice(0, 3)
        .map((f) => `${f.id} ${f.code} ${f.message}`)
        .join('; ')}`,
    );
    this.name = 'SendFailedError';
  }
}

/**
 * SQS takes only #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF in a message body, and
 * some emulators refuse astral characters (emoji) that SQS accepts. A JSON body is made safe for every one of
 * them by writing U+FFFE, U+FFFF and astral characters as `\uXXXX` escapes (JSON.stringify already escapes
 * control characters and lone surrogates): the receiver's JSON.parse gives back exactly the same value.
 *
 * @example transportSafe(JSON.stringify('mutex-\uFFFF-😀')) // '"mutex-\\uffff-\\ud83d\\ude00"'
 */
export function transportSafe(json: string): string {
  return json.replace(/[\uFFFE\uFFFF]|[\u{10000}-\u{10FFFF}]/gu, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

/** The bytes an item takes in a transport-safe message body. */
export function messageBytes(item: unknown): number {
  return Buffer.byteLength(transportSafe(JSON.stringify(item)));
}

/**
 * Pack items into as few message bodies as fit under `maxBytes` each: `envelope(items)` makes the body.
 * An item too large to fit even alone goes to `oversize` when given (the caller quarantines it alone);
 * otherwise it gets a message of its own (SQS will refuse it, and the caller fails).
 */
export function packMessages<T>(
  items: readonly T[],
  envelope: (items: T[], part: number) => string,
  maxBytes = MAX_MESSAGE_BYTES,
  oversize?: (item: T, bytes: number, limit: number) => void,
): string[] {
  const bodies: string[] = [];
  const overhead = Buffer.byteLength(transportSafe(envelope([], 0))) + 16;
  let current: T[] = [];
  let size = overhead;
  for (const item of items) {
    const itemBytes = messageBytes(item) + 1;
    if (oversize && overhead + itemBytes > maxBytes) {
      oversize(item, itemBytes - 1, maxBytes - overhead);
      continue;
    }
    if (current.length > 0 && size + itemBytes > maxBytes) {
      bodies.push(transportSafe(envelope(current, bodies.length)));
      current = [];
      size = overhead;
    }
    current.push(item);
    size += itemBytes;
  }
  if (current.length > 0) bodies.push(transportSafe(envelope(current, bodies.length)));
  return bodies;
}

function groupForBatches(messages: readonly OutgoingMessage[]): OutgoingMessage[][] {
  const groups: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let size = 0;
  for (const message of messages) {
    const bytes = Buffer.byteLength(message.body);
    if (current.length > 0 && (current.length === MAX_BATCH_ENTRIES || size + bytes > MAX_BATCH_BYTES)) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(message);
    size += bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Send messages with SendMessageBatch (10 entries or 256 KiB per call). Entries reported in `Failed` are
 * retried with backoff; sender faults (a message SQS will never take) are not. Throws SendFailedError
 * naming what is left, so the caller fails the records they belong to instead of dropping them.
 */
export async function sendMessages(
  sqs: SqsSend,
  queueUrl: string,
  messages: readonly OutgoingMessage[],
  backoff: BackoffOptions = DEFAULT_BACKOFF,
): Promise<void> {
  for (const group of groupForBatches(messages)) {
    let pending = group;
    for (let attempt = 1; ; attempt++) {
      const out: SendMessageBatchCommandOutput = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((m) => ({
            Id: m.id,
            MessageBody: transportSafe(m.body),
            ...(m.fifo
              ? { MessageGroupId: m.fifo.groupId, MessageDeduplicationId: m.fifo.deduplicationId }
              : {}),
            ...(m.attributes && Object.keys(m.attributes).length > 0
              ? { MessageAttributes: m.attributes }
              : {}),
          })),
        }),
      );
      const failed = out.Failed ?? [];
      if (failed.length === 0) break;
      const permanent = failed.filter((f) => f.SenderFault);
      const describe = (f: (typeof failed)[number]) => ({
        id: f.Id ?? '?',
        code: f.Code ?? 'unknown',
        message: f.Message ?? '',
      });
      if (permanent.length > 0 || attempt >= backoff.attempts)
        throw new SendFailedError(queueUrl, failed.map(describe));
      const retry = new Set(failed.map((f) => f.Id));
      pending = pending.filter((m) => retry.has(m.id));
      await (backoff.sleep ?? sleep)(backoffDelay(attempt, backoff));
    }
  }
}
