import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reportHashOfJson } from '../../../functions/load/merge.ts';
import {
  openRawReports,
  partition,
  type RawReport,
  sealRawReports,
} from '../../../functions/load/raw-reports.ts';
import {
  createEnvelopeCrypto,
  EncryptionContextMismatchError,
  rawKeyring,
} from '../../../functions/shared/crypto.ts';
import type { DocSend } from '../../../functions/shared/ddb-batch.ts';

const crypto = createEnvelopeCrypto({ keyring: rawKeyring(randomBytes(32)) });

const reportOf = (value: string): RawReport => {
  const json = JSON.stringify({ fingerprint: `fp-${value}`, value, source: { feedId: 'acme' } });
  return { json, hash: reportHashOfJson(json) };
};

/** A store that keeps what was put, and refuses a second put under a key (the condition). */
function memoryStore(): DocSend & { items: Map<string, Record<string, unknown>> } {
  const items = new Map<string, Record<string, unknown>>();
  return {
    items,
    send: (async (command: { input: { Item: Record<string, unknown> } }) => {
      const key = `${command.input.Item['documentId']}|${command.input.Item['eventKey']}`;
      if (items.has(key)) {
        const error = new Error('exists');
        error.name = 'ConditionalCheckFailedException';
        throw error;
      }
      items.set(key, command.input.Item);
      return {};
    }) as unknown as DocSend['send'],
  };
}

describe('raw-report batches', () => {
  it('splits reports into parts under the byte bound, keeping every report once and in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 300 }), { maxLength: 60 }),
        fc.integer({ min: 400, max: 4000 }),
        (values, max) => {
          const reports = values.map(reportOf);
          const parts = partition(reports, max);
          expect(parts.flat()).toEqual(reports);
          for (const part of parts) {
            const bytes = Buffer.byteLength(
              `[${part.map((r) => `{"hash":"${r.hash}","report":${r.json}}`).join(',')}]`,
            );
            expect(part.length === 1 || bytes <= max).toBe(true);
          }
        },
      ),
    );
  });

  it('round-trips a batch through one encrypted blob per part, and refuses another feed', async () => {
    // Prepare
    const store = memoryStore();
    const reports = ['45.1.1.1', '45.1.1.2', '45.1.1.3'].map(reportOf);
    const at = { documentId: 'doc-1', messageKey: '3', feedId: 'acme' };

    // Act
    const refs = await sealRawReports(
      { doc: store, crypto, table: 'audit', now: () => new Date(0) },
      at,
      reports,
    );

    // Assess
    expect([...store.items.keys()]).toEqual(['doc-1|raw#3#acme#0']);
    expect([...refs.values()]).toEqual(reports.map(() => ({ documentId: 'doc-1', key: 'raw#3#acme#0' })));
    const ciphertext = store.items.get('doc-1|raw#3#acme#0')?.['ciphertext'] as Uint8Array;
    expect(Buffer.from(ciphertext).includes(Buffer.from('45.1.1.2'))).toBe(false);
    const opened = await openRawReports(crypto, ciphertext, 'acme');
    expect(opened.map((e) => [e.hash, JSON.stringify(e.report)])).toEqual(
      reports.map((r) => [r.hash, r.json]),
    );
    await expect(openRawReports(crypto, ciphertext, 'other')).rejects.toThrow(EncryptionContextMismatchError);
  });

  it('keeps the first blob when the same message is sealed again', async () => {
    // Prepare
    const store = memoryStore();
    const deps = { doc: store, crypto, table: 'audit', now: () => new Date(0) };
    const at = { documentId: 'doc-2', messageKey: '0', feedId: 'acme' };
    await sealRawReports(deps, at, [reportOf('45.2.2.2')]);
    const first = store.items.get('doc-2|raw#0#acme#0');

    // Act
    const refs = await sealRawReports(deps, at, [reportOf('45.2.2.2')]);

    // Assess
    expect(store.items.get('doc-2|raw#0#acme#0')).toBe(first);
    expect([...refs.values()]).toEqual([{ documentId: 'doc-2', key: 'raw#0#acme#0' }]);
  });
});
