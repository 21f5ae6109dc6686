import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type SecretsManagerEmulator,
  startSecretsManager,
} from '../../../lib/local/emulators/secrets-manager.ts';

/** The local Secrets Manager emulator and a client on it, for tests of what reads or rotates secrets. */
export interface TestSecrets {
  client: SecretsManagerClient;
  /** Create a secret; returns its ARN. */
  create(name: string, value: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestSecrets(): Promise<TestSecrets> {
  const emulator: SecretsManagerEmulator = await startSecretsManager({
    region: 'us-east-1',
    accountId: '000000000000',
  });
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    client,
    create: async (name, value) =>
      (await client.send(new CreateSecretCommand({ Name: name, SecretString: value }))).ARN ?? '',
    stop: async () => {
      client.destroy();
      await emulator.stop();
    },
  };
}
