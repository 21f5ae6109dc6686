import { z } from 'zod';
import { UsageError } from './errors.ts';
import { operatorCommand } from './operator-api.ts';

const USAGE =
  'cti-ingest keys create|rotate|revoke|list --endpoint URL --api-key OPERATOR_KEY [--feed ID]… [--role provider|reader|operator] [--tlp LEVEL] [--key-id ID]';

const KeySchema = z.object({ keyId: z.string(), apiKey: z.string() }).loose();
const ListSchema = z.object({
  keys: z.array(z.object({ keyId: z.string(), role: z.string(), feeds: z.array(z.string()) }).loose()),
});

/**
 * `cti-ingest keys …` against a deployed stack or a local runtime, with the operator key:
 * - `create --feed ID` (a provider key for that feed; `--role reader [--tlp LEVEL] [--feed ID]…` for a
 *   reader, `--role operator` for another operator) prints `{"keyId":…,"apiKey":…}` — the only time the
 *   key is shown;
 * - `rotate --key-id ID` (or `--feed ID` when that feed has exactly one provider key) prints the same;
 * - `revoke --key-id ID` prints `{"keyId":…,"revoked":true}`; the key is refused from the next request on;
 * - `list` prints one line per key (no secrets).
 */
export async function runKeys(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (!action || !['create', 'rotate', 'revoke', 'list'].includes(action))
    throw new UsageError(`expected create, rotate, revoke or list. Usage: ${USAGE}`);
  const { values, call } = operatorCommand(
    rest,
    {
      feed: { type: 'string', multiple: true },
      role: { type: 'string' },
      tlp: { type: 'string' },
      'key-id': { type: 'string' },
    },
    USAGE,
  );
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

  switch (action) {
    case 'create': {
      if (!values.role && !values.feed?.length)
        throw new UsageError('create needs --feed ID (a provider key) or --role');
      const created = KeySchema.parse(
        await call('POST', '/keys', {
          ...(values.role ? { role: values.role } : {}),
          ...(values.tlp ? { tlp: values.tlp } : {}),
          feeds: values.feed ?? [],
        }),
      );
      print({ keyId: created.keyId, apiKey: created.apiKey });
      return 0;
    }
    case 'rotate': {
      const keyId = values['key-id'] ?? (await providerKeyOf(call, values.feed));
      const rotated = KeySchema.parse(await call('POST', `/keys/${encodeURIComponent(keyId)}/rotate`));
      print({ keyId: rotated.keyId, apiKey: rotated.apiKey });
      return 0;
    }
    case 'revoke': {
      const keyId = values['key-id'];
      if (!keyId) throw new UsageError('revoke needs --key-id ID');
      await call('DELETE', `/keys/${encodeURIComponent(keyId)}`);
      print({ keyId, revoked: true });
      return 0;
    }
    default: {
      for (const key of ListSchema.parse(await call('GET', '/keys')).keys) print(key);
      return 0;
    }
  }
}

/** `rotate --feed ID`: the feed's one provider key. */
async function providerKeyOf(
  call: (method: string, path: string) => Promise<unknown>,
  feeds: string[] | undefined,
): Promise<string> {
  const feed = feeds?.[0];
  if (!feed || feeds.length > 1) throw new UsageError('rotate needs --key-id ID, or one --feed ID');
  const keys = ListSchema.parse(await call('GET', '/keys')).keys.filter(
    (k) => k.role === 'provider' && k.feeds.includes(feed),
  );
  if (keys.length !== 1)
    throw new UsageError(
      `feed ${feed} has ${keys.length} provider keys${keys.length ? ` (${keys.map((k) => k.keyId).join(', ')})` : ''}; rotate one with --key-id`,
    );
  return (keys[0] as { keyId: string }).keyId;
}
