/**
 * API Gateway's CORS, as an HTTP API with a CORS configuration behaves
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html): it answers
 * every preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) itself, whether or
 * not a route exists, and adds the allow-origin header to the answers of requests that carry
 * `Origin`, ignoring any CORS headers the function returned. Configuration: CORS in
 * shared/config/resources.ts, origins `*` locally (`cairn:allowedOrigins` on AWS).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { CORS } from '#shared/config';
import type { HttpResponse } from './apigw';

export interface CorsConfig {
  allowOrigins: readonly string[];
  allowMethods: readonly string[];
  allowHeaders: readonly string[];
  maxAgeSeconds: number;
}

export const LOCAL_CORS: CorsConfig = { ...CORS, allowOrigins: ['*'] };

/** The allow-origin value for `origin`, or undefined when the configuration does not allow it. */
export function allowedOrigin(config: CorsConfig, origin: string | undefined): string | undefined {
  if (!origin) return undefined;
  for (const o of config.allowOrigins) {
    if (o === '*') return '*';
    if (o === origin) return origin;
    // `https://*` / `http://*`: any origin of that scheme.
    if (o.endsWith('://*') && origin.startsWith(o.slice(0, -1))) return origin;
  }
  return undefined;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** True for a CORS preflight: API Gateway answers it without invoking a function. */
export function isPreflight(method: string, headers: IncomingHttpHeaders): boolean {
  return method === 'OPTIONS' && !!header(headers, 'origin') && !!header(headers, 'access-control-request-method');
}

/** API Gateway's answer to a preflight: 204, with the configured headers when the origin is allowed. */
export function preflightResponse(config: CorsConfig, headers: IncomingHttpHeaders): HttpResponse {
  const allow = allowedOrigin(config, header(headers, 'origin'));
  const out: Record<string, string> = {};
  if (allow) {
    out['access-control-allow-origin'] = allow;
    out['access-control-allow-methods'] = config.allowMethods.join(',');
    out['access-control-allow-headers'] = config.allowHeaders.join(',');
    out['access-control-max-age'] = String(config.maxAgeSeconds);
  }
  return { statusCode: 204, headers: out, body: Buffer.alloc(0) };
}

/** A function's (or the runtime's) answer as the browser gets it: CORS headers from the configuration only. */
export function withCors(config: CorsConfig, requestHeaders: IncomingHttpHeaders, r: HttpResponse): HttpResponse {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers)) if (!k.toLowerCase().startsWith('access-control-')) headers[k] = v;
  const allow = allowedOrigin(config, header(requestHeaders, 'origin'));
  if (allow) headers['access-control-allow-origin'] = allow;
  return { ...r, headers };
}
