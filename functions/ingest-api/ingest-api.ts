import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { FEED_ID_PATTERN } from '../domain/access.ts';
import type { Format } from '../domain/indicator.ts';
import { detectFormat, supportedFormats } from '../formats/index.ts';
import { jsonError } from '../formats/json-fault.ts';
import { callerOf } from '../shared/caller.ts';
import type { DocSend } from '../shared/ddb-batch.ts';
import { getFeed, registerFeed } from '../shared/feeds.ts';
import { error, header, json } from '../shared/http.ts';
import { acceptDocument, type IntakeDeps } from '../shared/intake.ts';
import { withMiddleware } from '../shared/middleware.ts';
import type { Counter, Log, Observability } from '../shared/observability.ts';

export interface IngestApiDeps {
  intake: IntakeDeps;
  doc: DocSend;
  feedsTable: string;
  maxBytes: number;
  log: Log;
  counter: Counter;
}

/** Content type (without parameters) → format; `application/json` is refined by looking at the body. */
const CONTENT_TYPES: Record<string, Format | 'json-family' | 'text-family'> = {
  'application/stix+json': 'stix',
  'application/taxii+json': 'stix',
  'application/json': 'json-family',
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/xml': 'xml',
  'text/xml': 'xml',
  'application/rss+xml': 'rss',
  'application/atom+xml': 'rss',
  // Lists and CSV exports are often served as text/plain: read them as CSV when they are (as `parse` does).
  'text/plain': 'text-family',
};

const JSON_FORMATS: readonly Format[] = ['stix', 'misp', 'misp-feed', 'json'];

/** The format a request's Content-Type asks for, or undefined when it is not one we take. */
export function formatForContentType(contentType: string | undefined, body: Uint8Array): Format | undefined {
  if (!contentType) return undefined;
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const mapped = CONTENT_TYPES[mediaType];
  if (mapped === 'text-family') return detectFormat(body) === 'csv' ? 'csv' : 'text';
  if (mapped !== 'json-family') return mapped;
  const detected = detectFormat(body);
  return JSON_FORMATS.includes(detected) ? detected : 'json';
}

function decodeBody(event: APIGatewayProxyEvent): Buffer | undefined {
  if (event.body === null || event.body === undefined) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/** Why a body cannot be a document of this format (a cheap structural check; parsing comes later). */
function unreadable(format: Format, body: Buffer): string | undefined {
  if (body.byteLength === 0) return 'empty body';
  // Only white space (a document of no records; \s covers the BOM) — the head first, so a large body with
  // content is not decoded here.
  const blank = (text: string) => !/\S/u.test(text);
  if (blank(body.subarray(0, 4096).toString('utf8')) && blank(body.toString('utf8')))
    return 'the body holds only whitespace';
  const head = body
    .subarray(0, 4096)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (['stix', 'misp', 'misp-feed', 'json'].includes(format)) {
    try {
      JSON.parse(body.toString('utf8').replace(/^\uFEFF/, ''));
    } catch (e) {
      return `body is ${jsonError(e, body)}`;
    }
  }
  if ((format === 'xml' || format === 'rss') && !head.startsWith('<')) return 'body is not XML';
  return undefined;
}

/**
 * POST /feeds/{feedId}/documents. The API's authorizer has vouched for the caller; checks run before
 * anything is written: a provider pushes only to its own feeds and never to a disabled one (403), content
 * type known and parseable by this build (415), size (413), body readable (400). Then the document is
 * accepted through intake → 202 {documentId}. A feed pushed to for the first time gets a Feeds item, so
 * GET /status/feeds lists it.
 */
export async function ingestDocument(
  deps: IngestApiDeps,
  event: APIGatewayProxyEvent,
): Promise<APIGatewayProxyResult> {
  const feedId = event.pathParameters?.feedId ?? '';
  const caller = callerOf(event);
  if (!caller)
    return error(401, 'missing API key: send it in the x-api-key header or as Authorization: Bearer KEY');
  const mayPush = caller.role === 'operator' || (caller.role === 'provider' && caller.feeds.includes(feedId));
  if (!FEED_ID_PATTERN.test(feedId) || !mayPush) return error(403, 'API key not valid for this feed');
  const feed = await getFeed(deps.doc, deps.feedsTable, feedId);
  if (feed?.enabled === false) return error(403, `feed ${feedId} is disabled`);

  const contentType = header(event, 'content-type');
  // Size first by the encoded length, so an oversized body is never decoded.
  const encodedLength = event.body?.length ?? 0;
  const roughBytes = event.isBase64Encoded ? base64Bytes(event.body ?? '') : encodedLength;
  const body = roughBytes > deps.maxBytes * 1.1 ? undefined : decodeBody(event);
  const format = formatForContentType(contentType, body ?? Buffer.alloc(0));
  if (!format)
    return error(
      415,
      `unsupported content type ${contentType ?? '(none)'}; use one of ${Object.keys(CONTENT_TYPES).join(', ')}`,
    );
  if (!supportedFormats().includes(format))
    return error(
      415,
      `format ${format} is not supported by this deployment; supported: ${supportedFormats().join(', ')}`,
    );
  if (roughBytes > deps.maxBytes || (body && body.byteLength > deps.maxBytes))
    return error(413, `document larger than ${deps.maxBytes} bytes`);
  if (!body) return error(400, 'missing body');
  const problem = unreadable(format, body);
  if (problem) return error(400, `unreadable ${format} document: ${problem}`);

  if (!feed) await registerFeed(deps.doc, deps.feedsTable, feedId, deps.intake.now());
  const { documentId } = await acceptDocument(deps.intake, {
    feedId,
    format,
    body,
    origin: 'push',
    ...(contentType ? { contentType } : {}),
  });
  deps.counter.count('DocumentsAccepted', 1);
  deps.log.info('document accepted', { documentId, feedId, format, bytes: body.byteLength });
  return json(202, { documentId });
}

/** The decoded size of a base64 text, from its length and padding (without decoding it). */
function base64Bytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((text.length * 3) / 4) - padding);
}

export function createIngestApiHandler(deps: IngestApiDeps, observability?: Observability) {
  return withMiddleware(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      return await ingestDocument(deps, event);
    } catch (e) {
      deps.log.error('ingest failed', { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      return error(500, 'internal error; the document was not accepted, retry later');
    }
  }, observability);
}
