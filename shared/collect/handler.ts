/**
 * The collect stage: an API Gateway HTTP API (payload v2) request → messages on the raw stream.
 * Same code on Lambda and locally; the local HTTP server builds the same event shape.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ENV, STREAMS } from '../config/resources';
import { CairnError, errorBody, isCairnError } from '../errors';
import { log } from '../log';
import { count, countBy, METRIC, setCorrelationId } from '../metrics';
import type { RawEnvelope } from '../message/types';
import { partitionKeyFor, putAllRecords } from '../message/stream';
import { resolveWriteKey } from './auth';
import { checkContentType, decodeBody, decodeUtf8, parseJsonBody } from './parse';
import { authenticate } from './sources';
import { prepareMessages, type CollectRoute } from './validate';

export const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'Content-Type, Authorization, Content-Encoding',
  'access-control-max-age': '86400',
};

const ROUTES: ReadonlySet<string> = new Set(['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import']);

/** `/v1/track`, `/prod/v1/track/` → `track`; anything else → undefined. */
export function routeOf(path: string | undefined): CollectRoute | undefined {
  const m = /\/v1\/([a-z]+)\/?$/.exec(path ?? '');
  return m && ROUTES.has(m[1]!) ? (m[1] as CollectRoute) : undefined;
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const h = event.headers ?? {};
  const v = h[name];
  if (v !== undefined) return v;
  for (const k of Object.keys(h)) if (k.toLowerCase() === name) return h[k];
  return undefined;
}

const json = (statusCode: number, body: unknown, extra: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...CORS_HEADERS, ...extra },
  body: JSON.stringify(body),
});

export const errorResponse = (e: CairnError): APIGatewayProxyStructuredResultV2 =>
  json(e.status, errorBody(e), e.status === 503 ? { 'retry-after': '1' } : {});

/**
 * The request's correlation id: the caller's `x-request-id` (printable, at most 128 characters) or
 * else API Gateway's request id. It travels with each message on the raw stream (envelope field
 * `correlationId`), then beside it on the normalized stream and the bus (docs/operations.md).
 */
export function correlationIdOf(event: APIGatewayProxyEventV2): string | undefined {
  const h = header(event, 'x-request-id');
  if (h && /^[\x21-\x7e]{1,128}$/.test(h)) return h;
  return event.requestContext?.requestId || undefined;
}

/** Handles one collection request. Never throws: every failure is an error response. */
export async function collect(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = (event.requestContext?.http?.method ?? 'POST').toUpperCase();
  if (method === 'OPTIONS') return { statusCode: 204, headers: { ...CORS_HEADERS }, body: '' };
  const correlationId = correlationIdOf(event);
  setCorrelationId(correlationId);
  try {
    const route = routeOf(event.rawPath ?? event.requestContext?.http?.path);
    if (!route) throw new CairnError('not_found', `no collection route at ${event.rawPath}`, 404);
    if (method !== 'POST') throw new CairnError('method_not_allowed', `${method} is not allowed: use POST`, 405);
    checkContentType(header(event, 'content-type'), header(event, 'content-encoding'));
    const bytes = decodeBody(event.body, event.isBase64Encoded === true, header(event, 'content-encoding'));
    const body = parseJsonBody(decodeUtf8(bytes));
    const source = await authenticate(resolveWriteKey(header(event, 'authorization'), body));
    const receivedAt = new Date();
    const prepared = prepareMessages(body, route, receivedAt);
    if (prepared.length > 0) {
      const stream = process.env[ENV.rawStream] || STREAMS.raw.name;
      await putAllRecords(
        stream,
        prepared.map((p) => {
          const envelope: RawEnvelope & { correlationId?: string } = { message: p.message, sourceId: source.sourceId, receivedAt: receivedAt.toISOString(), ...(correlationId ? { correlationId } : {}) };
          return { partitionKey: partitionKeyFor(p.partitionKey), data: Buffer.from(JSON.stringify(envelope)) };
        }),
      );
    }
    count(METRIC.collectAccepted, prepared.length);
    return json(200, { success: true });
  } catch (e) {
    countBy(METRIC.collectRejected, isCairnError(e) ? e.code : 'internal_error');
    if (isCairnError(e)) {
      if (e.status >= 500) log('warn', 'collect failed', { code: e.code, error: e.message });
      return errorResponse(e);
    }
    log('error', 'collect internal error', { error: (e as Error).message, errorName: (e as Error).name });
    return errorResponse(new CairnError('internal_error', 'internal error; retry later', 500));
  }
}
