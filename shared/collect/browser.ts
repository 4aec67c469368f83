/**
 * What web browsers need beyond the HTTP Tracking API (docs/browser.md): the settings document
 * analytics.js 2.0 fetches before it sends anything, the pixel (a GET carrying a message in its
 * query string, for email opens and clients without JavaScript) and the host a page should post to.
 * Pure functions; the collect handler does the I/O.
 */
import { CairnError } from '../errors';
import { FORBIDDEN_KEYS } from '../message';
import { PIXEL_TYPES } from '../config';

/** Where this deployment's collector answers, as a browser should reach it. */
export interface PublicOrigin {
  /** `host[:port]`, e.g. `abc.execute-api.eu-west-1.amazonaws.com` or `127.0.0.1:4000`. */
  host: string;
  protocol: 'http' | 'https';
}

const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?$/;

/**
 * The origin a browser reached: `x-cairn-public-host` (the viewer's host, set by the optional
 * CloudFront edge, infra/constructs/waf.ts, so pages post through the edge and its WAF), else
 * `host`, else API Gateway's domain name. Only a well-formed host is used: a forged header cannot put markup or a
 * path into the settings document, and it only ever changes the caller's own answer (nothing is cached
 * across callers).
 */
export function publicOrigin(headers: (name: string) => string | undefined, domainName: string | undefined): PublicOrigin | undefined {
  const candidates = [headers('x-cairn-public-host'), headers('host'), domainName];
  const host = candidates.map((h) => h?.trim()).find((h): h is string => !!h && HOST_RE.test(h));
  if (!host) return undefined;
  const proto = headers('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return { host, protocol: proto === 'http' ? 'http' : 'https' };
}

/**
 * The settings document analytics.js 2.0 reads from `{cdnURL}/v1/projects/{writeKey}/settings`
 * (the library's `CDNSettings`): the `Segment.io` destination pointed at this collector, no
 * device-mode destinations, no remote plugins or middleware to download, and metrics off so the
 * browser never calls Segment's own servers.
 */
export function analyticsSettings(writeKey: string, origin: PublicOrigin): Record<string, unknown> {
  return {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: `${origin.host}/v1`,
        protocol: origin.protocol,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {},
      },
    },
    plan: { track: { __default: { enabled: true, integrations: {} } }, identify: { __default: { enabled: true } }, group: { __default: { enabled: true } } },
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}

export type PixelType = (typeof PIXEL_TYPES)[number];
const PIXEL_TYPE_SET: ReadonlySet<string> = new Set(PIXEL_TYPES);

/** The pixel's message type from the last path segment, or `invalid_pixel_type` (404). */
export function pixelType(segment: string | undefined): PixelType {
  if (segment && PIXEL_TYPE_SET.has(segment)) return segment as PixelType;
  throw new CairnError('invalid_pixel_type', `no pixel for "${String(segment).slice(0, 40)}": use one of ${PIXEL_TYPES.join(', ')}`, 404);
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * The message a pixel request carries. Two shapes:
 * - Segment's pixel API: `?data=<base64 of the message JSON>`, with `writeKey` inside the JSON;
 * - RudderStack's: the fields as query parameters, nested with dots
 *   (`?writeKey=…&anonymousId=…&event=Email%20Opened&properties.campaign=spring`).
 * Returns the JSON text (parsed and checked like any request body by the caller).
 */
export function pixelBody(query: Record<string, string | undefined>): string {
  const data = query.data;
  if (data !== undefined) {
    const compact = data.replace(/\s/g, '');
    if (!BASE64_RE.test(compact)) throw new CairnError('invalid_body', 'data: must be base64 of a JSON object', 400, { field: 'data' });
    return Buffer.from(compact, 'base64').toString('utf8');
  }
  const keys = Object.keys(query);
  if (keys.length === 0)
    throw new CairnError('invalid_body', 'pixel request carries no message: send ?data=<base64 JSON> or the fields as query parameters', 400);
  const msg: Record<string, unknown> = {};
  for (const key of keys) {
    const value = query[key];
    if (value === undefined) continue;
    const path = key.split('.');
    if (path.some((p) => p === '' || FORBIDDEN_KEYS.has(p))) {
      throw new CairnError(
        path.some((p) => FORBIDDEN_KEYS.has(p)) ? 'forbidden_key' : 'invalid_field',
        `${key.slice(0, 80)}: query parameter is not allowed`,
        400,
        { field: key.slice(0, 80) },
      );
    }
    let at = msg;
    for (const p of path.slice(0, -1)) {
      const next = at[p];
      if (next !== undefined && (typeof next !== 'object' || next === null)) {
        throw new CairnError('invalid_field', `${key.slice(0, 80)}: conflicts with another query parameter`, 400, { field: key.slice(0, 80) });
      }
      at = (next as Record<string, unknown> | undefined) ?? (at[p] = {});
    }
    const leaf = path[path.length - 1]!;
    if (typeof at[leaf] === 'object')
      throw new CairnError('invalid_field', `${key.slice(0, 80)}: conflicts with another query parameter`, 400, { field: key.slice(0, 80) });
    at[leaf] = value;
  }
  return JSON.stringify(msg);
}

/** A transparent 1×1 GIF: the pixel's answer. */
// Pure: a bundle that never sends the pixel (the console, importing the grammar) leaves it out, and needs no Buffer.
export const PIXEL_GIF = /* @__PURE__ */ Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * The source configuration RudderStack's JavaScript SDK fetches from `{configUrl}/sourceConfig`
 * before it sends anything: this source, enabled, with no device-mode destinations (Cairn is the
 * only destination; it fans out server-side).
 */
export function rudderSourceConfig(writeKey: string, source: { sourceId: string; name: string }): Record<string, unknown> {
  return {
    isHosted: false,
    source: {
      id: source.sourceId,
      name: source.name,
      writeKey,
      enabled: true,
      workspaceId: 'cairn',
      config: {},
      destinations: [],
    },
  };
}
