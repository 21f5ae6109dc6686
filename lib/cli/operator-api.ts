import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

/**
 * One call of the HTTP API with a key (`x-api-key`): the JSON answer, or a UsageError naming the method,
 * path, status and the API's error message.
 */
export async function request(
  endpoint: string,
  apiKey: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${endpoint}${path}`, {
      method,
      headers: { 'x-api-key': apiKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new UsageError(`cannot reach ${endpoint}: ${cause?.code ?? (error as Error).message}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const message =
      (json as { error?: unknown; message?: unknown } | undefined)?.error ??
      (json as { message?: unknown })?.message;
    throw new UsageError(
      `${method} ${path}: ${response.status} ${typeof message === 'string' ? message : text.slice(0, 200)}`,
    );
  }
  return json;
}

/**
 * Parse a command's flags with `--endpoint URL --api-key KEY` among them (both required): the other flags'
 * values, and `call(method, path, body?)` against that API with that key.
 */
type FlagValue<F> = F extends { type: 'boolean' }
  ? boolean
  : F extends { multiple: true }
    ? string[]
    : string;

export function operatorCommand<O extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(
  args: string[],
  options: O,
  usage: string,
  /** Whether the command takes positional arguments (then in `positionals`). */
  allowPositionals = false,
): {
  values: { [K in keyof O]?: FlagValue<O[K]> };
  positionals: string[];
  call: (method: string, path: string, body?: unknown) => Promise<unknown>;
} {
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals,
      options: { ...options, endpoint: { type: 'string' }, 'api-key': { type: 'string' } },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const endpoint = (values['endpoint'] as string | undefined)?.replace(/\/+$/, '');
  const apiKey = values['api-key'] as string | undefined;
  if (!endpoint || !apiKey) throw new UsageError(`--endpoint and --api-key are required. Usage: ${usage}`);
  return {
    values: values as { [K in keyof O]?: FlagValue<O[K]> },
    positionals,
    call: (method, path, body) => request(endpoint, apiKey, method, path, body),
  };
}
