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
