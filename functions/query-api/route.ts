import type { APIGatewayProxyEvent } from 'aws-lambda';
import { z } from 'zod';

/** What the read API's routes share: refusals, query parameters, cursors and non-JSON answers. */

/** A request a route refuses (400, 403, 404): the answer is `{"error": message}` with that status. */
export class RouteError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 406 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'RouteError';
  }
}

export const KeySchema = z.record(z.string(), z.union([z.string(), z.number()]));

/** Cursors are opaque to clients: base64url of DynamoDB's LastEvaluatedKey (or a route's own position). */
export function encodeCursor(key: object | undefined): string | null {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : null;
}

export function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined;
export function decodeCursor<S extends z.ZodType>(
  cursor: string | undefined,
  schema: S,
): z.infer<S> | undefined;
export function decodeCursor(cursor: string | undefined, schema: z.ZodType = KeySchema): unknown {
  if (!cursor) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new RouteError(400, 'cursor is not one this API returned');
  }
}

/** Routes that take no query parameters. */
export const NoQuerySchema = z.object({});

/**
 * The query string parsed with a route's schema; a parameter the route does not know is a 400 naming it
 * (a typo such as `?tpye=ipv4` must not silently return everything).
 */
export function params<S extends z.ZodObject>(schema: S, event: APIGatewayProxyEvent): z.infer<S> {
  const given = event.queryStringParameters ?? {};
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(given).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new RouteError(
      400,
      `unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; this route takes ${known.join(', ') || 'none'}`,
    );
  const parsed = schema.safeParse(given);
  if (!parsed.success)
    throw new RouteError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return parsed.data;
}

/** An answer that is not JSON (an export): served with an ETag, 304 when the client has it already. */
export class RawAnswer {
  constructor(
    readonly contentType: string,
    readonly body: string,
    /** How many indicators it holds (for the access trail). */
    readonly count: number,
    readonly headers: Record<string, string> = {},
  ) {}
}
