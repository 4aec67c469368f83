/**
 * What API Gateway (HTTP API, Lambda proxy integration, payload format 2.0) does around a
 * function: route matching from `ROUTES` (with `{param}` and `{proxy+}` path parameters), the
 * `APIGatewayProxyEventV2` it builds from a request, and how it turns the function's result into
 * an HTTP response.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ROUTES, type RouteDef } from '#shared/config';
import { LOCAL_ACCOUNT } from './lambda';

/** A route of the local server: a `RouteDef` whose function may also be a test function. */
export type LocalRouteDef = Omit<RouteDef, 'fn'> & { fn: string };

export interface RouteMatch {
  route: LocalRouteDef;
  routeKey: string;
  pathParameters?: Record<string, string>;
}

interface CompiledRoute {
  route: LocalRouteDef;
  re: RegExp;
  names: string[];
  /** Literal segments first: `/v1/segments/new` beats `/v1/segments/{id}` as on API Gateway. */
  specificity: number;
}

export class Router {
  private readonly compiled: CompiledRoute[];
  constructor(routes: readonly LocalRouteDef[]) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      let specificity = 0;
      const parts = route.path.split('/').map((seg) => {
        const greedy = /^\{([A-Za-z0-9_]+)\+\}$/.exec(seg);
        if (greedy) {
          names.push(greedy[1]!);
          return '(.+)';
        }
        const param = /^\{([A-Za-z0-9_]+)\}$/.exec(seg);
        if (param) {
          names.push(param[1]!);
          specificity += 1;
          return '([^/]+)';
        }
        specificity += 100;
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      });
      return { route, re: new RegExp(`^${parts.join('/')}/?$`), names, specificity };
    });
    this.compiled.sort((a, b) => b.specificity - a.specificity);
  }

  /**
   * The route for `method path`, `path` being what API Gateway HTTP APIs pass on (decoded:
   * `apiGatewayPath`). Path parameters are segments of that path, so they are decoded exactly as
   * `rawPath` is: API Gateway "decodes URL-encoded request parameters before passing them to your
   * backend integration" (Developer Guide, "Create routes for HTTP APIs"). Whether AWS routes on the
   * path decoded once or twice, and so whether a `%252F` splits a parameter there, is not recorded
   * (docs/local.md): here every decoded `/` separates segments.
   * CORS preflights never get here (local/cors.ts answers them, as API Gateway does); a bare
   * `OPTIONS` (no Origin or Access-Control-Request-Method) on a path without an OPTIONS route goes to
   * the write-key (collect) route of that path, which answers an empty 204.
   */
  match(method: string, path: string): RouteMatch | undefined {
    const m = method.toUpperCase();
    const hit = (c: CompiledRoute) => {
      const r = c.re.exec(path);
      if (!r) return undefined;
      const pathParameters = c.names.length ? Object.fromEntries(c.names.map((n, i) => [n, r[i + 1]!])) : undefined;
      return { pathParameters };
    };
    for (const c of this.compiled) {
      if (c.route.method !== m && c.route.method !== 'ANY') continue;
      const h = hit(c);
      if (h) return { route: c.route, routeKey: `${c.route.method} ${c.route.path}`, ...h };
    }
    if (m === 'OPTIONS') {
      for (const c of this.compiled) {
        if (c.route.auth !== 'writeKey') continue;
        const h = hit(c);
        if (h) return { route: c.route, routeKey: `OPTIONS ${c.route.path}`, ...h };
      }
    }
    return undefined;
  }

  /** True when some route has this path under another method (for 404 vs. method mismatch logs). */
  pathExists(path: string): boolean {
    return this.compiled.some((c) => c.re.test(path));
  }
}

const TEXT_TYPES = /^(text\/|application\/(json|[\w.+-]+\+json|xml|[\w.+-]+\+xml|javascript|x-www-form-urlencoded|graphql)\b)/i;

/** API Gateway passes text bodies as text and everything else (or anything content-encoded) as base64. */
export function isTextBody(headers: IncomingHttpHeaders): boolean {
  const enc = headers['content-encoding'];
  if (enc && enc.toLowerCase() !== 'identity') return false;
  const type = headers['content-type'];
  return typeof type === 'string' && TEXT_TYPES.test(type.trim());
}

/** API Gateway's request id format: 16 url-safe characters then `=`. */
export function apiRequestId(): string {
  return randomBytes(12).toString('base64url').slice(0, 15) + 'EA=';
}

function clfTime(d: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export interface RequestInfo {
  method: string;
  /** Request target as received (`/v1/x%20y?a=1`). */
  url: string;
  httpVersion: string;
  /** node's `rawHeaders`: name/value pairs in order, original case. */
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  sourceIp: string;
  localPort: number;
  body: Buffer;
  requestId: string;
  now: Date;
  /**
   * The IAM caller of an authenticated admin request (LOCAL_ADMIN_ARN once the bearer token is
   * checked), delivered as API Gateway's IAM authorizer does: `requestContext.authorizer.iam`.
   */
  callerArn?: string;
}

/** The IAM identity the local server gives the holder of the admin token (the audit log's actor). */
export const LOCAL_ADMIN_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:user/cairn-local-admin`;

/**
 * The path API Gateway (HTTP API) hands to the integration for a request target's path, as recorded
 * from live HTTP APIs (docs/local.md, "Paths and path parameters"; the captures of
 * github.com/hotsock/voker `vokerhttp/testdata/ingress-paths.json`, and the events quoted in
 * github.com/fastify/aws-lambda-fastify/issues/169 and github.com/honojs/hono/issues/2156):
 *
 * - the path is percent-decoded: `%20` → space, `%2F` → `/`, `%23` → `#`, UTF-8 → the characters;
 * - a `?` that the decoding produced ends the path (`/question%3Fvalue` → `/question`);
 * - then it is decoded a second time: `%252F` → `/`, `%253F` → `?` (kept), `%2525` → `%`;
 * - a `%` that is not a valid escape at either step gets `400` before any function runs
 *   (`/percent%25done` is refused: `%do` is not an escape).
 *
 * `undefined` means that `400`. `+` is left as it is (what AWS does with `+` in a path is not
 * recorded); so is invalid UTF-8 refused (not recorded either): both are listed as uncertainties in
 * docs/local.md.
 */
export function apiGatewayPath(target: string): string | undefined {
  let once: string;
  try {
    once = decodeURIComponent(target);
  } catch {
    return undefined;
  }
  const q = once.indexOf('?');
  if (q >= 0) once = once.slice(0, q);
  try {
    return decodeURIComponent(once) || '/';
  } catch {
    return undefined;
  }
}

/**
 * Splits a request target into the path API Gateway passes on (`rawPath`, decoded: see
 * `apiGatewayPath`; `undefined` when API Gateway would answer 400) and the raw query string, which
 * API Gateway passes on as it came.
 */
export function splitTarget(url: string): { path: string | undefined; rawQueryString: string } {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  return { path: apiGatewayPath(rawPath), rawQueryString: q < 0 ? '' : url.slice(q + 1) };
}

/** Builds the `APIGatewayProxyEventV2` that API Gateway would send for this request. */
export function toApiGatewayEvent(req: RequestInfo, match: RouteMatch): APIGatewayProxyEventV2 {
  const { path: decoded, rawQueryString } = splitTarget(req.url);
  if (decoded === undefined) throw new Error(`API Gateway refuses the request target ${req.url.slice(0, 100)} (400)`);
  const path = decoded;
  // Headers: lower-cased, repeated headers joined with commas; cookies go to `cookies`.
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      for (const c of value.split(';')) if (c.trim()) cookies.push(c.trim());
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const host = headers.host ?? `127.0.0.1:${req.localPort}`;
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${req.sourceIp}` : req.sourceIp;
  headers['x-forwarded-port'] = String(req.localPort);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(req.now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  if (req.body.length) headers['content-length'] = String(req.body.length);

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString) {
    queryStringParameters = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[k] = k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
    }
  }
  const text = isTextBody(req.headers);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath: path,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0]!.split(':')[0]!,
      http: {
        method: req.method.toUpperCase(),
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: req.requestId,
      ...(req.callerArn ? { authorizer: iamAuthorizer(req.callerArn) } : {}),
      routeKey: match.routeKey,
      stage: '$default',
      time: clfTime(req.now),
      timeEpoch: req.now.getTime(),
    },
    ...(match.pathParameters ? { pathParameters: match.pathParameters } : {}),
    ...(req.body.length ? { body: text ? req.body.toString('utf8') : req.body.toString('base64') } : {}),
    isBase64Encoded: req.body.length > 0 && !text,
  };
  return event;
}

/** API Gateway's `authorizer.iam` of an IAM-authenticated request (payload 2.0), for an IAM user. */
function iamAuthorizer(userArn: string) {
  const userId = 'AIDACAIRNLOCALADMIN00';
  return {
    iam: {
      accessKey: 'AKIACAIRNLOCALADMIN0',
      accountId: LOCAL_ACCOUNT,
      callerId: userId,
      cognitoIdentity: null,
      principalOrgId: null,
      userArn,
      userId,
    },
  };
}

const routers = new WeakMap<readonly LocalRouteDef[], Router>();

/**
 * The event API Gateway would send for `method target` (a request target as a client sends it:
 * percent-encoded path, raw query) on `routes`: the matched route's key and path parameters, or
 * `$default` without parameters when no route matches. For tests and tools that invoke a handler
 * directly with the event the local server (and AWS) would build. Throws where API Gateway answers
 * 400 (a path that does not survive its decoding, `apiGatewayPath`).
 */
export function apiGatewayEventFor(
  method: string,
  target: string,
  init: { headers?: Record<string, string>; body?: string | Buffer; routes?: readonly LocalRouteDef[] } = {},
): APIGatewayProxyEventV2 {
  const routes = init.routes ?? ROUTES;
  let router = routers.get(routes);
  if (!router) routers.set(routes, (router = new Router(routes)));
  const { path } = splitTarget(target);
  if (path === undefined) throw new Error(`API Gateway refuses the request target ${target.slice(0, 100)} (400)`);
  const match = router.match(method, path) ?? { route: { method: 'ANY', path: '/', fn: '', auth: 'admin' }, routeKey: '$default' };
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  for (const [k, v] of Object.entries(init.headers ?? {})) {
    headers[k.toLowerCase()] = v;
    rawHeaders.push(k, v);
  }
  const body = init.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body, 'utf8');
  return toApiGatewayEvent(
    { method, url: target, httpVersion: '1.1', rawHeaders, headers, sourceIp: '127.0.0.1', localPort: 4000, body, requestId: apiRequestId(), now: new Date() },
    match,
  );
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * Maps a function result to the HTTP response, as API Gateway does for payload format 2.0: a
 * result with `statusCode` is used as is; any other value is taken as a 200 JSON body.
 */
export function fromLambdaResult(result: unknown): HttpResponse {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const r = result as APIGatewayProxyStructuredResultV2;
    if (typeof r.statusCode !== 'number' || !Number.isInteger(r.statusCode) || r.statusCode < 100 || r.statusCode > 599) {
      throw new Error('malformed Lambda proxy response: statusCode');
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
    if (r.cookies?.length) headers['set-cookie'] = r.cookies;
    const raw = r.body ?? '';
    if (typeof raw !== 'string') throw new Error('malformed Lambda proxy response: body');
    const body = r.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
    if (body.length && !headers['content-type']) headers['content-type'] = 'text/plain; charset=utf-8';
    return { statusCode: r.statusCode, headers, body };
  }
  if (result === undefined) return { statusCode: 200, headers: {}, body: Buffer.alloc(0) };
  const body = typeof result === 'string' ? result : JSON.stringify(result);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
}
