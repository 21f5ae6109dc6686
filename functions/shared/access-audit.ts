import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Caller } from '../domain/access.ts';
import type { DocSend } from './ddb-batch.ts';

/** One access to the API: who, which route, with what filters, what it answered, how much it returned. */
export interface AccessEvent {
  caller: Caller;
  method: string;
  route: string;
  /** Query parameters (the cursor left out) or, for operator actions, what was acted on. */
  filters: Record<string, string>;
  status: number;
  /** Items returned (indicators, documents, records, keys), when the answer is a list. */
  returned?: number;
}

const ACCESS_TTL_SECONDS = 400 * 24 * 3600;

/**
 * The access trail in the Audit table, at every audit level: one item per read and per operator action,
 * under `access#<day>` (newest last by its `eventKey`, `<time>#<id>`). Written before the answer goes out:
 * an access that cannot be recorded is not served (the caller gets a 500).
 */
export class AccessAudit {
  constructor(
    private readonly doc: DocSend,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(event: AccessEvent): Promise<void> {
    const at = this.now();
    const iso = at.toISOString();
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          documentId: `access#${iso.slice(0, 10)}`,
          eventKey: `${iso}#${randomUUID()}`,
          stage: 'access',
          keyId: event.caller.keyId,
          role: event.caller.role,
          method: event.method,
          route: event.route,
          filters: event.filters,
          status: event.status,
          ...(event.returned !== undefined ? { returned: event.returned } : {}),
          at: iso,
          expiresAt: Math.floor(at.getTime() / 1000) + ACCESS_TTL_SECONDS,
        },
      }),
    );
  }
}

/** The count of the list an answer body holds (`indicators`, `documents`, `records`, `keys`, `feeds`). */
export function returnedCount(body: unknown): number | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  // One indicator looked up by value.
  if (typeof (body as Record<string, unknown>).fingerprint === 'string') return 1;
  for (const key of ['indicators', 'documents', 'records', 'keys', 'feeds', 'events', 'replays']) {
    const list = (body as Record<string, unknown>)[key];
    if (Array.isArray(list)) return list.length;
  }
  return undefined;
}
