import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createEnvelopeCrypto,
  EncryptionContextMismatchError,
  rawKeyring,
  rawKeyringFromFile,
} from '../../../functions/shared/crypto.ts';

describe('envelope encryption', () => {
  const crypto = createEnvelopeCrypto({ keyring: rawKeyring(randomBytes(32)), maxMessagesEncrypted: 3 });
  const plaintext = new TextEncoder().encode('{"value":"45.77.12.9"}');

  it('round-trips with the same context', async () => {
    const ciphertext = await crypto.encrypt(plaintext, { feedId: 'acme', table: 'indicators' });
    expect(Buffer.from(ciphertext).includes(Buffer.from('45.77.12.9'))).toBe(false);
    expect(await crypto.decrypt(ciphertext, { feedId: 'acme', table: 'indicators' })).toEqual(
      Buffer.from(plaintext),
    );
  });

  it.each([
    { feedId: 'other', table: 'indicators' },
    { feedId: 'acme', table: 'quarantine' },
  ])('refuses a ciphertext bound to another context ($feedId, $table)', async (expected) => {
    const ciphertext = await crypto.encrypt(plaintext, { feedId: 'acme', table: 'indicators' });
    await expect(crypto.decrypt(ciphertext, expected)).rejects.toThrow(EncryptionContextMismatchError);
  });

  it('keeps working past the per-data-key message bound', async () => {
    const ciphertexts = await Promise.all(
      Array.from({ length: 8 }, () => crypto.encrypt(plaintext, { feedId: 'acme', table: 'indicators' })),
    );
    for (const c of ciphertexts)
      expect(await crypto.decrypt(c, { feedId: 'acme', table: 'indicators' })).toEqual(
        Buffer.from(plaintext),
      );
  });

  it('reads a local key file of 64 hex characters and rejects anything else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cti-key-'));
    await writeFile(join(dir, 'good'), `${randomBytes(32).toString('hex')}\n`);
    await writeFile(join(dir, 'bad'), 'not-a-key');
    const fromFile = createEnvelopeCrypto({ keyring: await rawKeyringFromFile(join(dir, 'good')) });
    const c = await fromFile.encrypt(plaintext, { feedId: 'f', table: 't' });
    expect(await fromFile.decrypt(c, { feedId: 'f', table: 't' })).toEqual(Buffer.from(plaintext));
    await expect(rawKeyringFromFile(join(dir, 'bad'))).rejects.toThrow(/64 hex characters/);
  });
});
