/**
 * The collect stage: an API Gateway HTTP API (payload v2) request → messages on the raw stream.
 * Same code on Lambda and locally; the local HTTP server builds the same event shape.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BROWSER_COLLECT_PATHS } from '../config';
import { CairnError, isCairnError } from '../errors';
import { errorResponse, type HttpErrorOptions } from '../lambda';
import { log } from '../log';
import { count, countBy, METRIC, setCorrelationId } from '../metrics';
import { partitionKeyFor, type RawEnvelope, type StreamRecord } from '../message';
import { resolveWriteKey, writeKeyFromAuthHeader } from './auth';
import { analyticsSettings, PIXEL_GIF, pixelBody, pixelType, publicOrigin, rudderSourceConfig } from './browser';
import { checkContentType, decodeBody, decodeUtf8, parseJsonBody } from './parse';
import type { Source } from './sources';
import { prepareMessages, type CollectRoute } from './validate';

const ROUTES: ReadonlySet<string> = new Set(['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import']);
const SHORT: Readonly<Record<string, CollectRoute>> = BROWSER_COLLECT_PATHS;

/** What the collector reads and writes (functions/collect/deps.ts builds them from the environment). */
export interface CollectDeps {
  /** The enabled source of a write key, else `invalid_write_key` (401): the sources table (shared/collect/sources.ts). */
  authenticate(writeKey: string): Promise<Source>;
  /** Puts records on the raw stream; resolves when all are in (shared/message/stream.ts). */
  putRaw(records: readonly StreamRecord[]): Promise<void>;
}

/** What a request to the collector asks for, from its path. */
export type CollectTarget =
  | { kind: 'messages'; route: CollectRoute; method: 'POST' }
  /** RudderStack's unload beacon: a batch, the write key in the query string. */
  | { kind: 'beacon'; method: 'POST' }
  | { kind: 'settings'; writeKey: string; method: 'GET' }
  | { kind: 'sourceConfig'; method: 'GET' }
  | { kind: 'pixel'; type: string | undefined; method: 'GET' };

/**
 * `/v1/track`, `/v1/t` (analytics.js 2.0), `/prod/v1/track/` → messages for `track`; the browser
 * routes (docs/browser.md) → their target; anything else → undefined.
 */
export function targetOf(path: string | undefined): CollectTarget | undefined {
  const p = (path ?? '').replace(/\/+$/, '');
  let m = /\/v1\/projects\/([^/]+)\/settings$/.exec(p);
  if (m) return { kind: 'settings', writeKey: m[1]!, method: 'GET' };
  if ((m = /\/(?:v1\/pixel|pixel\/v1)\/([^/]*)$/.exec(p))) return { kind: 'pixel', type: m[1], method: 'GET' };
  if (/\/beacon\/v1\/batch$/.test(p)) return { kind: 'beacon', method: 'POST' };
  if (/\/sourceConfig$/.test(p)) return { kind: 'sourceConfig', method: 'GET' };
  if ((m = /\/v1\/([a-z]+)$/.exec(p))) {
    const name = m[1]!;
    if (ROUTES.has(name)) return { kind: 'messages', route: name as CollectRoute, method: 'POST' };
    if (Object.hasOwn(SHORT, name)) return { kind: 'messages', route: SHORT[name]!, method: 'POST' };
  }
  return undefined;
}

/** The message route of a path (`/v1/t` → `track`), or undefined. */
export function routeOf(path: string | undefined): CollectRoute | undefined {
  const t = targetOf(path);
  return t?.kind === 'messages' ? t.route : undefined;
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const h = event.headers ?? {};
  const v = h[name];
  if (v !== undefined) return v;
  for (const k of Object.keys(h)) if (k.toLowerCase() === name) return h[k];
  return undefined;
}

// No CORS headers here: API Gateway adds them from CORS in shared/config/resources.ts (and ignores
// any a function returns); the local server does the same.
const json = (statusCode: number, body: unknown, extra: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...extra },
  body: JSON.stringify(body),
});

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

/**
 * How collect's failures become answers (shared/lambda http-errors): each is counted as rejected by
 * code; a 5xx CairnError is logged as a warning, an unexpected error as an error, and a 503 asks the
 * SDK to retry after a second.
 */
export const COLLECT_ERRORS: HttpErrorOptions = {
  internalMessage: 'internal error; retry later',
  retryAfterOn503: true,
  report: (e) => {
    countBy(METRIC.collectRejected, isCairnError(e) ? e.code : 'internal_error');
    if (isCairnError(e)) {
      if (e.status >= 500) log('warn', 'collect failed', { code: e.code, error: e.message });
    } else log('error', 'collect internal error', { error: (e as Error).message, errorName: (e as Error).name });
  },
};

/** Handles one collection request. Never throws: every failure is an error response. */
export async function collect(event: APIGatewayProxyEventV2, deps: CollectDeps): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    return await collectRequest(event, deps);
  } catch (e) {
    return errorResponse(e, event, COLLECT_ERRORS);
  }
}

/** Handles one collection request; a failure is thrown (COLLECT_ERRORS turns it into the answer). */
export async function collectRequest(event: APIGatewayProxyEventV2, deps: CollectDeps): Promise<APIGatewayProxyStructuredResultV2> {
  const method = (event.requestContext?.http?.method ?? 'POST').toUpperCase();
  // API Gateway answers CORS preflights itself; a bare OPTIONS that reaches us gets an empty 204.
  if (method === 'OPTIONS') return { statusCode: 204, body: '' };
  const correlationId = correlationIdOf(event);
  setCorrelationId(correlationId);
  const target = targetOf(event.rawPath ?? event.requestContext?.http?.path);
  if (!target) throw new CairnError('not_found', `no collection route at ${String(event.rawPath).slice(0, 100)}`, 404);
  if (method !== target.method) throw new CairnError('method_not_allowed', `${method} is not allowed: use ${target.method}`, 405);
  switch (target.kind) {
    case 'settings':
      return await settingsResponse(event, target.writeKey, deps);
    case 'sourceConfig':
      return await sourceConfigResponse(event, deps);
    case 'pixel': {
      const type = pixelType(target.type);
      const body = parseJsonBody(pixelBody(event.queryStringParameters ?? {}));
      await accept(body, type, await deps.authenticate(resolveWriteKey(undefined, body)), correlationId, deps);
      return {
        statusCode: 200,
        headers: { 'content-type': 'image/gif', 'cache-control': 'no-store' },
        body: PIXEL_GIF.toString('base64'),
        isBase64Encoded: true,
      };
    }
    case 'beacon':
    case 'messages': {
      checkContentType(header(event, 'content-type'), header(event, 'content-encoding'));
      const bytes = decodeBody(event.body, event.isBase64Encoded === true, header(event, 'content-encoding'));
      const body = parseJsonBody(decodeUtf8(bytes));
      // sendBeacon cannot set headers: the beacon names its write key in the query string.
      const queryKey = target.kind === 'beacon' ? event.queryStringParameters?.writeKey : undefined;
      const source = await deps.authenticate(queryKey && !header(event, 'authorization') ? queryKey : resolveWriteKey(header(event, 'authorization'), body));
      await accept(body, target.kind === 'beacon' ? 'batch' : target.route, source, correlationId, deps);
      return json(200, { success: true });
    }
  }
}

/** Validates the messages of a request and puts them on the raw stream; resolves when all are there. */
async function accept(body: Record<string, unknown>, route: CollectRoute, source: Source, correlationId: string | undefined, deps: CollectDeps): Promise<void> {
  const receivedAt = new Date();
  const prepared = prepareMessages(body, route, receivedAt);
  if (prepared.length > 0) {
    await deps.putRaw(
      prepared.map((p) => {
        const envelope: RawEnvelope & { correlationId?: string } = {
          message: p.message,
          sourceId: source.sourceId,
          trust: source.trust,
          receivedAt: receivedAt.toISOString(),
          ...(correlationId ? { correlationId } : {}),
        };
        return { partitionKey: partitionKeyFor(p.partitionKey), data: Buffer.from(JSON.stringify(envelope)) };
      }),
    );
  }
  count(METRIC.collectAccepted, prepared.length);
}

/**
 * The same answer for an unknown, expired, revoked or disabled key: a settings request tells a
 * prober nothing about which keys exist or ever existed.
 */
const noSuchKey = () => new CairnError('write_key_not_found', 'no active source has this write key', 404);

async function activeSource(writeKey: string | undefined, deps: CollectDeps): Promise<Source> {
  if (!writeKey) throw noSuchKey();
  try {
    return await deps.authenticate(writeKey);
  } catch (e) {
    if (isCairnError(e) && e.code === 'invalid_write_key') throw noSuchKey();
    throw e;
  }
}

function originOf(event: APIGatewayProxyEventV2) {
  const origin = publicOrigin((n) => header(event, n), event.requestContext?.domainName);
  if (!origin) throw new CairnError('invalid_host', 'the request has no usable Host header', 400);
  return origin;
}

/** Settings are public and change only when a key is revoked: browsers may keep them a minute. */
const SETTINGS_CACHE = 'public, max-age=60';

async function settingsResponse(event: APIGatewayProxyEventV2, rawKey: string, deps: CollectDeps): Promise<APIGatewayProxyStructuredResultV2> {
  const writeKey = event.pathParameters?.writeKey ?? safeDecode(rawKey);
  await activeSource(writeKey, deps);
  return json(200, analyticsSettings(writeKey!, originOf(event)), { 'cache-control': SETTINGS_CACHE });
}

async function sourceConfigResponse(event: APIGatewayProxyEventV2, deps: CollectDeps): Promise<APIGatewayProxyStructuredResultV2> {
  let writeKey: string | undefined;
  try {
    writeKey = writeKeyFromAuthHeader(header(event, 'authorization'));
  } catch {
    writeKey = undefined;
  }
  writeKey ??= event.queryStringParameters?.writeKey;
  const source = await activeSource(writeKey, deps);
  return json(200, rudderSourceConfig(writeKey!, source), { 'cache-control': SETTINGS_CACHE });
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
