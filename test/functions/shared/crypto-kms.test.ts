import { randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createEnvelopeCrypto, kmsKeyring } from '../../../functions/shared/crypto.ts';

const KEY_ARN = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555';
const kms = mockClient(KMSClient);

afterEach(() => kms.reset());

/** KMS as the keyring sees it: data keys "wrapped" by prefixing a marker, unwrapped by removing it. */
function fakeKms(): void {
  kms.on(GenerateDataKeyCommand).callsFake(() => {
    const plaintext = randomBytes(32);
    return {
      KeyId: KEY_ARN,
      Plaintext: plaintext,
      CiphertextBlob: Buffer.concat([Buffer.from('wrapped:'), plaintext]),
    };
  });
  kms.on(DecryptCommand).callsFake((input: { CiphertextBlob: Uint8Array }) => ({
    KeyId: KEY_ARN,
    Plaintext: Buffer.from(input.CiphertextBlob).subarray('wrapped:'.length),
  }));
}

describe('envelope encryption with the KMS keyring', () => {
  it('asks KMS for one data key per cache bound, not one per record', async () => {
    // Prepare
    fakeKms();
    const crypto = createEnvelopeCrypto({ keyring: kmsKeyring(KEY_ARN), maxMessagesEncrypted: 5 });
    const context = { feedId: 'acme', table: 'indicators' };

    // Act
    const ciphertexts = [];
    for (let i = 0; i < 12; i++) ciphertexts.push(await crypto.encrypt(Buffer.from(`record ${i}`), context));
    const plaintext = await crypto.decrypt(ciphertexts[11] as Uint8Array, context);

    // Assess
    expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(3);
    expect(kms.commandCalls(GenerateDataKeyCommand)[0]?.args[0].input).toMatchObject({
      KeyId: KEY_ARN,
      EncryptionContext: expect.objectContaining(context),
    });
    expect(Buffer.from(plaintext).toString()).toBe('record 11');
  });
});
