/**
 * A small router for the admin API (API Gateway HTTP API payload v2). Routes are registered with
 * the same path patterns as shared/config/resources.ts ROUTES (`/v1/profiles/{identifier}`).
 * Errors become the error body (docs/errors.md). Authentication is done before the handler (IAM or
 * the console's JWT on AWS, the bearer token in the local runtime); a guard may refuse a caller
 * its route (the console roles, shared/admin/roles.ts).
 *
 * Path parameters are decoded exactly once, by API Gateway (or the local server playing it,
 * local/apigw.ts): the event's `routeKey` names the route (`GET /v1/profiles/{identifier}`) and
 * `pathParameters` hold the decoded values, which are used as they are, never decoded again; only
 * the `~<base64url>` envelope of shared/http/path.ts is opened. An event without a route key of its
 * own (`$default`, or a hand-made one) is matched on `rawPath`, which API Gateway HTTP APIs also
 * deliver already decoded (docs/local.md, "Paths and path parameters"): its segments are not
 * decoded either.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CairnError, isCairnError } from '../errors';
import { errorResponse, type HttpErrorOptions } from '../lambda';
import { log } from '../log';
import { parseDocument } from 'yaml';
import { checkJsonDepth } from '../collect';
import { nestingProblem } from '../definitions';
import { openPathParam } from './path';

/** `application/yaml`, `application/x-yaml`, `text/yaml` (definitions may be sent as YAML). */
const isYaml = (ct: string | undefined) => !!ct && /^(application|text)\/(x-)?yaml\b/i.test(ct.trim());

/**
 * Largest admin request body. Definitions and key requests are a few KB; the cap keeps parsing
 * bounded and what is stored well under DynamoDB's 400 KB item limit.
 */
export const MAX_ADMIN_BODY_BYTES = 256 * 1024;

/** One YAML document (YAML 1.2, duplicate keys rejected, nesting and aliases bounded). */
function parseYamlBody(text: string): unknown {
  const deep = nestingProblem(text);
  if (deep) throw new CairnError('too_deep', `request body ${deep}`, 400);
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    throw new CairnError('invalid_yaml', `request body is not valid YAML: ${(e as Error).message.split('\n')[0]}`, 400);
  }
  const err = doc.errors[0];
  if (err) throw new CairnError('invalid_yaml', `request body is not valid YAML: ${err.message.split('\n')[0]}`, 400);
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // e.g. "Excessive alias count indicates a resource exhaustion attack" (billion laughs).
    throw new CairnError('invalid_yaml', `request body is not valid YAML: ${(e as Error).message.split('\n')[0]}`, 400);
  }
}

export interface AdminRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  headers: Record<string, string>;
}
export interface AdminResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
export type RouteHandler = (req: AdminRequest) => Promise<AdminResponse>;

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
}

/** How admin failures become answers (shared/lambda http-errors): only an unexpected error is logged, with the path's first segments. */
export const ADMIN_ERRORS: HttpErrorOptions = {
  internalMessage: 'internal error',
  report: (e, event) => {
    if (isCairnError(e)) return;
    const rawPath = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    log('error', 'admin.error', { error: (e as Error).message, path: rawPath.split('/').slice(0, 3).join('/') });
  },
};

/**
 * How one routed admin request ended: its route key (`DELETE /v1/profiles/{identifier}`), the
 * event, the opened path parameters, and the answer's status with its body, or the error's code.
 * Requests that match no route have no outcome.
 */
export interface AdminOutcome {
  routeKey: string;
  event: APIGatewayProxyEventV2;
  params: Readonly<Record<string, string>>;
  status: number;
  body?: unknown;
  code?: string;
}
/** Called once per routed request, before its answer is returned (the admin room's audit log). */
export type AdminObserver = (outcome: AdminOutcome) => Promise<void>;
/**
 * Called once per routed request before anything else is read (the admin room's role check): it
 * throws the CairnError that refuses the request, which the observer then sees as the outcome.
 */
export type AdminGuard = (routeKey: string, event: APIGatewayProxyEventV2) => void;

export class AdminRouter {
  private readonly routes: Route[] = [];

  constructor(
    private readonly observer?: AdminObserver,
    private readonly guard?: AdminGuard,
  ) {}

  add(method: string, pattern: string, handler: RouteHandler): this {
    this.routes.push({ method: method.toUpperCase(), segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  /**
   * Finds the route for a path as API Gateway HTTP APIs deliver it in `rawPath`: already
   * percent-decoded. Parameter segments are taken as they are (the envelope is opened later).
   */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined {
    const parts = path.split('/').filter(Boolean);
    const allowed: string[] = [];
    for (const r of this.routes) {
      if (r.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const s = r.segments[i]!;
        if (s.startsWith('{') && s.endsWith('}')) params[s.slice(1, -1)] = parts[i]!;
        else ok = s === parts[i];
      }
      if (!ok) continue;
      if (r.method === method.toUpperCase() || r.method === 'ANY') return { route: r, params };
      allowed.push(r.method);
    }
    return allowed.length ? { allowed } : undefined;
  }

  /** `METHOD /pattern` of every route, as API Gateway names them in `routeKey`. */
  routeKeys(): string[] {
    return this.routes.map((r) => `${r.method} /${r.segments.join('/')}`);
  }

  /** The route API Gateway matched (`routeKey` `GET /v1/profiles/{identifier}`), when it is one of ours. */
  private byRouteKey(routeKey: string | undefined): Route | undefined {
    if (!routeKey || routeKey === '$default') return undefined;
    const sp = routeKey.indexOf(' ');
    if (sp < 0) return undefined;
    const method = routeKey.slice(0, sp).toUpperCase();
    const segments = routeKey
      .slice(sp + 1)
      .split('/')
      .filter(Boolean);
    return this.routes.find((r) => r.method === method && r.segments.length === segments.length && r.segments.every((s, i) => s === segments[i]));
  }

  /** Answers one admin request. Never throws: every failure is an error response (ADMIN_ERRORS). */
  async handle(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      return await this.route(event);
    } catch (e) {
      return errorResponse(e, event, ADMIN_ERRORS);
    }
  }

  /** Answers one admin request; a failure is thrown (ADMIN_ERRORS turns it into the answer). */
  async route(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const method = event.requestContext?.http?.method ?? 'GET';
    const rawPath = event.rawPath ?? event.requestContext?.http?.path ?? '/';
    const keyed = this.byRouteKey(event.routeKey);
    const m = keyed ? { route: keyed, params: pathParams(event, keyed) } : this.match(method, rawPath);
    if (!m) throw new CairnError('not_found', `no route for ${method} ${rawPath}`, 404);
    if ('allowed' in m) throw new CairnError('method_not_allowed', `${method} is not allowed on ${rawPath}`, 405);
    const routeKey = `${m.route.method} /${m.route.segments.join('/')}`;
    const params: Record<string, string> = {};
    let res: AdminResponse;
    try {
      this.guard?.(routeKey, event);
      res = await this.answer(m.route, m.params, params, event, method, rawPath);
    } catch (e) {
      await this.observe({ routeKey, event, params, status: isCairnError(e) ? e.status : 500, code: isCairnError(e) ? e.code : 'internal_error' });
      throw e;
    }
    await this.observe({ routeKey, event, params, status: res.status, body: res.body });
    return json(res.status, res.body, res.headers);
  }

  /** Opens the parameters (into `params`, so a failure's outcome has those already opened), parses the body, calls the handler. */
  private async answer(
    route: Route,
    raw: Record<string, string>,
    params: Record<string, string>,
    event: APIGatewayProxyEventV2,
    method: string,
    rawPath: string,
  ): Promise<AdminResponse> {
    for (const [k, v] of Object.entries(raw)) params[k] = openPathParam(k, v);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    let body: unknown;
    if (event.body) {
      const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
      if (Buffer.byteLength(text) > MAX_ADMIN_BODY_BYTES) {
        throw new CairnError('request_too_large', `request body exceeds ${MAX_ADMIN_BODY_BYTES} bytes`, 413, { limit: MAX_ADMIN_BODY_BYTES });
      }
      if (isYaml(headers['content-type'])) body = parseYamlBody(text);
      else {
        checkJsonDepth(text);
        try {
          body = JSON.parse(text);
        } catch {
          throw new CairnError('invalid_json', 'request body is not valid JSON', 400);
        }
      }
    }
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
    return route.handler({ method, path: rawPath, params, query, body, headers });
  }

  /**
   * Hands the outcome to the observer before the answer leaves. An observer failure never changes
   * the answer: it is logged (the route key only, no parameter) and the request is answered.
   */
  private async observe(outcome: AdminOutcome): Promise<void> {
    if (!this.observer) return;
    try {
      await this.observer(outcome);
    } catch (e) {
      log('error', 'admin.observer_failed', { error: (e as Error).message, route: outcome.routeKey });
    }
  }
}

/** The route's parameters from the event's `pathParameters` (decoded by API Gateway), all present. */
function pathParams(event: APIGatewayProxyEventV2, route: Route): Record<string, string> {
  const params: Record<string, string> = {};
  for (const s of route.segments) {
    if (!(s.startsWith('{') && s.endsWith('}'))) continue;
    const name = s.slice(1, -1);
    const v = event.pathParameters?.[name];
    if (v === undefined || v === '') throw new CairnError('not_found', `no ${name} in the path`, 404);
    params[name] = v;
  }
  return params;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}
