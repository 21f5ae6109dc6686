import { readFile } from 'node:fs/promises';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getLocalCryptographicMaterialsCache,
  type KeyringNode,
  KmsKeyringNode,
  NodeCachingMaterialsManager,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';

/**
 * Envelope encryption of stored source objects with the AWS Encryption SDK: a KMS keyring in AWS, a raw
 * AES keyring from a local key file on a laptop. Data keys are cached (bounded by age and message count)
 * so a batch of records costs one KMS call, not one per record. The encryption context binds each
 * ciphertext to its feed and table; decrypt refuses a ciphertext whose context does not match.
 */

export interface EncryptionContext {
  feedId: string;
  table: string;
}

export interface EnvelopeCrypto {
  encrypt(plaintext: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
  decrypt(ciphertext: Uint8Array, expected: EncryptionContext): Promise<Uint8Array>;
}

export class EncryptionContextMismatchError extends Error {
  constructor(key: string, expected: string, found: string | undefined) {
    super(`encryption context ${key}: expected ${expected}, found ${found ?? '(absent)'}`);
    this.name = 'EncryptionContextMismatchError';
  }
}

export interface CryptoOptions {
  keyring: KeyringNode;
  /** How long a data key may be reused (ms). */
  maxAgeMs?: number;
  /** How many messages one data key may encrypt. */
  maxMessagesEncrypted?: number;
  cacheCapacity?: number;
}

// Unsigned suite with key commitment: records are small and many, and per-message ECDSA signing
// would cost more than the rest of the load stage; integrity comes from AES-GCM and the key commitment.
const SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

export function createEnvelopeCrypto(options: CryptoOptions): EnvelopeCrypto {
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const cmm = new NodeCachingMaterialsManager({
    backingMaterials: options.keyring,
    cache: getLocalCryptographicMaterialsCache(options.cacheCapacity ?? 100),
    maxAge: options.maxAgeMs ?? 5 * 60_000,
    maxMessagesEncrypted: options.maxMessagesEncrypted ?? 10_000,
  });
  return {
    async encrypt(plaintext, context) {
      const { result } = await encrypt(cmm, plaintext, {
        suiteId: SUITE,
        encryptionContext: { feedId: context.feedId, table: context.table },
        // Caching applies only when the plaintext length is known up front.
        plaintextLength: plaintext.byteLength,
      });
      return result;
    },
    async decrypt(ciphertext, expected) {
      const { plaintext, messageHeader } = await decrypt(cmm, ciphertext);
      for (const [key, value] of Object.entries(expected)) {
        const found = messageHeader.encryptionContext[key];
        if (found !== value) throw new EncryptionContextMismatchError(key, value, found);
      }
      return plaintext;
    },
  };
}

/** A raw AES-256 keyring from a file holding 64 hex characters (local mode). */
export async function rawKeyringFromFile(path: string): Promise<RawAesKeyringNode> {
  const hex = (await readFile(path, 'utf8')).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new Error(
      `CTI_LOCAL_KEY_FILE ${path}: expected 64 hex characters (a 32-byte key), found ${hex.length} characters`,
    );
  return rawKeyring(Buffer.from(hex, 'hex'));
}

export function rawKeyring(key: Uint8Array): RawAesKeyringNode {
  return new RawAesKeyringNode({
    keyName: 'cti-ingest-local',
    keyNamespace: 'cti-ingest',
    unencryptedMasterKey: new Uint8Array(key),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
}

export function kmsKeyring(keyArn: string): KmsKeyringNode {
  return new KmsKeyringNode({ generatorKeyId: keyArn });
}

/** The keyring the environment asks for. */
export async function keyringFromEnv(env: {
  CTI_KEY_PROVIDER: 'kms' | 'raw';
  CTI_KMS_KEY_ARN?: string | undefined;
  CTI_LOCAL_KEY_FILE?: string | undefined;
}): Promise<KeyringNode> {
  if (env.CTI_KEY_PROVIDER === 'raw') {
    if (!env.CTI_LOCAL_KEY_FILE) throw new Error('CTI_LOCAL_KEY_FILE is required when CTI_KEY_PROVIDER=raw');
    return rawKeyringFromFile(env.CTI_LOCAL_KEY_FILE);
  }
  if (!env.CTI_KMS_KEY_ARN) throw new Error('CTI_KMS_KEY_ARN is required when CTI_KEY_PROVIDER=kms');
  return kmsKeyring(env.CTI_KMS_KEY_ARN);
}
