/**
 * The local API endpoint: plays API Gateway (HTTP API) in front of the functions. Every request
 * becomes a payload-2.0 event for the function `ROUTES` names; admin routes need the bearer token
 * (IAM on AWS); the stage throttle and the 10 MB payload limit apply as on API Gateway.
 *
 * Runtime routes (local extensions, not Lambda functions): `GET /health`, `GET /_aws/endpoints`,
 * `GET /v1/status` (admin), and the console's files for every other GET no route takes (local/console.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { bearerOk } from '#shared/http';
import { ADMIN_ROUTE_THROTTLE } from '#shared/config';
import { CairnError, errorBody } from '#shared/errors';
import { log } from '#shared/log';
import { apiRequestId, fromLambdaResult, LOCAL_ADMIN_ARN, splitTarget, toApiGatewayEvent, type HttpResponse, type Router } from './apigw';
import { functionError, LambdaTimeoutError, type LoadedFunction } from './lambda';
import type { Metrics } from './metrics';
import { isPreflight, LOCAL_CORS, preflightResponse, withCors, type CorsConfig } from './cors';
import type { ServiceRoute } from './services';
import { TokenBucket } from './throttle';
import type { ConsoleFiles } from './console';

/** API Gateway's maximum request payload. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export type StackState = 'starting' | 'ready' | 'stopping' | 'stopped';

export interface HttpDeps {
  router: Router;
  functions: Map<string, LoadedFunction>;
  adminToken: string;
  throttle: TokenBucket;
  metrics: Metrics;
  state: () => StackState;
  endpoints: () => Record<string, string | null>;
  status: () => Promise<unknown> | unknown;
  log?: boolean;
  /** Called after each function invocation. */
  onInvoked?: () => void;
  /** API Gateway's CORS configuration (default: LOCAL_CORS). */
  cors?: CorsConfig;
  /** Runtime routes services add (local/services.ts `routes`), by `<METHOD> <path>`. */
  serviceRoute?: (key: string) => ServiceRoute | undefined;
  /** The console's built files (local/console.ts), answered for GETs no API route takes. */
  console?: ConsoleFiles;
}

export interface LocalHttpServer {
  server: Server;
  listen(port: number): Promise<number>;
  /** Stops accepting connections and waits (up to `timeoutMs`) for in-flight requests. */
  close(timeoutMs?: number): Promise<void>;
  inFlight(): number;
  lastActivityAt(): number;
}

/** Constant-time check of `Authorization: Bearer <token>` (shared/http/auth.ts). */
export { bearerOk };

function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode: status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(body)) };
}
const err = (code: string, message: string, status: number, headers: Record<string, string> = {}) =>
  json(status, errorBody(new CairnError(code, message, status)), headers);

export function createLocalHttpServer(deps: HttpDeps): LocalHttpServer {
  const cors = deps.cors ?? LOCAL_CORS;
  let inFlight = 0;
  let lastActivity = 0;
  const idleWaiters: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const adminBuckets = new Map<string, TokenBucket>();

  const send = (res: ServerResponse, r: HttpResponse, requestId: string, startedAt: number, label: string) => {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | string[]> = { ...r.headers, 'apigw-requestid': requestId };
    if (deps.state() === 'stopping') headers.connection = 'close';
    res.writeHead(r.statusCode, headers);
    res.end(r.body);
    deps.metrics.httpResponse(r.statusCode);
    if (deps.log) log('info', 'request', { route: label, status: r.statusCode, ms: Date.now() - startedAt, requestId });
  };

  const readBody = (req: IncomingMessage): Promise<Buffer | 'too_large'> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > MAX_BODY_BYTES) {
        req.resume();
        resolve('too_large');
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on('data', (c: Buffer) => {
        if (over) return;
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          over = true;
          chunks.length = 0;
          resolve('too_large');
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (!over) resolve(Buffer.concat(chunks));
      });
      req.on('error', reject);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    const requestId = apiRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const { path: decodedPath } = splitTarget(url);
    const reply = (r: HttpResponse, label = `${method} ?`) => send(res, withCors(cors, req.headers, r), requestId, startedAt, label);
    if (decodedPath === undefined) {
      // API Gateway refuses a path whose percent-escapes do not survive its decoding (apiGatewayPath).
      req.resume();
      return reply(
        err('bad_request', 'malformed percent-encoding in the request path (API Gateway answers 400; docs/local.md#paths-and-path-parameters)', 400),
        `${method} (bad path)`,
      );
    }
    const path = decodedPath;

    // Runtime routes.
    if (path === '/health' && (method === 'GET' || method === 'HEAD')) {
      const s = deps.state();
      return reply(s === 'ready' ? json(200, { status: 'ok' }) : json(503, { status: s }), 'GET /health');
    }
    if (path === '/_aws/endpoints' && method === 'GET') return reply(json(200, deps.endpoints()), 'GET /_aws/endpoints');
    // The console's files, as CloudFront serves them on AWS: outside API Gateway, so outside its throttle and CORS.
    if (deps.console && (method === 'GET' || method === 'HEAD') && !deps.router.match(method, path)) {
      const page = await deps.console.answer(method, path);
      if (page) {
        req.resume();
        return send(res, page, requestId, startedAt, `${method} (console)`);
      }
    }

    if (!deps.throttle.take()) {
      req.resume();
      return reply(
        err('rate_limited', 'too many requests: the API is throttled', 429, { 'retry-after': String(deps.throttle.retryAfterSeconds()) }),
        `${method} (throttled)`,
      );
    }

    if (isPreflight(method, req.headers)) {
      req.resume();
      return send(res, preflightResponse(cors, req.headers), requestId, startedAt, 'OPTIONS (CORS preflight)');
    }

    if (path === '/v1/status' && method === 'GET') {
      req.resume();
      if (!bearerOk(req.headers.authorization, deps.adminToken)) return reply(unauthorized(), 'GET /v1/status');
      return reply(json(200, await deps.status()), 'GET /v1/status');
    }

    const serviceRoute = deps.serviceRoute?.(`${method} ${path}`);
    if (serviceRoute) {
      req.resume();
      if (!bearerOk(req.headers.authorization, deps.adminToken)) return reply(unauthorized(), `${method} ${path}`);
      try {
        const r = await serviceRoute(new URLSearchParams(splitTarget(url).rawQueryString));
        return reply(json(r.status, r.body), `${method} ${path}`);
      } catch (e) {
        if (e instanceof CairnError) return reply(json(e.status, errorBody(e)), `${method} ${path}`);
        throw e;
      }
    }

    const match = deps.router.match(method, path);
    if (!match) {
      req.resume();
      return reply(err('not_found', `no route for ${method} ${path.length > 100 ? path.slice(0, 100) + '…' : path}`, 404), `${method} (no route)`);
    }
    const label = match.routeKey;
    if (match.route.auth === 'admin' && method !== 'OPTIONS' && !bearerOk(req.headers.authorization, deps.adminToken)) {
      req.resume();
      return reply(unauthorized(), label);
    }
    if (match.route.auth === 'admin') {
      // Per-route admin throttle (ADMIN_ROUTE_THROTTLE, as the API Gateway route settings).
      let bucket = adminBuckets.get(label);
      if (!bucket) adminBuckets.set(label, (bucket = new TokenBucket(ADMIN_ROUTE_THROTTLE.rateLimit, ADMIN_ROUTE_THROTTLE.burstLimit)));
      if (!bucket.take()) {
        req.resume();
        return reply(err('rate_limited', 'too many requests on this admin route', 429, { 'retry-after': String(bucket.retryAfterSeconds()) }), label);
      }
    }
    const body = await readBody(req);
    if (body === 'too_large') {
      res.setHeader('connection', 'close');
      return reply(err('request_too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`, 413), label);
    }
    if (deps.state() === 'starting') return reply(err('service_unavailable', 'the local stack is still starting', 503, { 'retry-after': '1' }), label);
    const fn = deps.functions.get(match.route.fn);
    if (!fn) return reply(err('internal_error', `function ${match.route.fn} is not loaded`, 500), label);

    const socket = req.socket;
    const event = toApiGatewayEvent(
      {
        method,
        url,
        httpVersion: req.httpVersion,
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        sourceIp: (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        localPort: socket.localPort ?? 0,
        body,
        requestId,
        now: new Date(startedAt),
        // The token was checked above: the request is the local admin's, as IAM would name the caller.
        ...(match.route.auth === 'admin' ? { callerArn: LOCAL_ADMIN_ARN } : {}),
      },
      match,
    );
    const stats = deps.metrics.fn(fn.key);
    stats.invocations++;
    let out: HttpResponse;
    try {
      const result = await fn.invoke(event);
      stats.totalDurationMs += Date.now() - startedAt;
      out = fromLambdaResult(result);
    } catch (e) {
      stats.totalDurationMs += Date.now() - startedAt;
      stats.errors++;
      const timedOut = e instanceof LambdaTimeoutError;
      if (timedOut) stats.timeouts++;
      const fe = functionError(e);
      log('error', 'function error', { function: fn.key, route: label, errorType: fe.errorType, errorMessage: fe.errorMessage.slice(0, 300), requestId });
      out = timedOut ? err('service_unavailable', 'the function timed out', 503) : err('internal_error', 'internal server error', 500);
    }
    deps.onInvoked?.();
    return reply(out, label);
  }

  const unauthorized = () =>
    err('unauthorized', 'missing or invalid admin token: send Authorization: Bearer <CAIRN_ADMIN_TOKEN>', 401, { 'www-authenticate': 'Bearer' });

  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    inFlight++;
    handle(req, res)
      .catch((e) => {
        log('error', 'request failed', { error: (e as Error).message });
        send(res, err('internal_error', 'internal server error', 500), apiRequestId(), Date.now(), 'error');
      })
      .finally(() => {
        inFlight--;
        lastActivity = Date.now();
        if (inFlight === 0) for (const w of idleWaiters.splice(0)) w();
      });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  return {
    server,
    listen: (port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    async close(timeoutMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => idleWaiters.push(r)), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      }
      server.closeIdleConnections();
      for (const s of sockets) s.destroy();
      await closed;
    },
    inFlight: () => inFlight,
    lastActivityAt: () => lastActivity,
  };
}
