/**
 * Webhooks: an HTTPS request with the rendered body, signed over timestamp, method, URL and body
 * (`X-Cairn-Signature`, signature.ts; key: the webhook secret, read from Secrets Manager at run
 * time and cached, never in the environment: SECRETS.webhook), with `X-Cairn-Timestamp`
 * (ISO-8601 send time) and `X-Cairn-Delivery` (stable per run and step,
 * the same on every retry: receivers dedupe on it). Each attempt times out; network errors, 429
 * and 5xx are retried with exponential backoff and jitter; then the action is dead-lettered
 * (recorded `failed` in the ledger with the reason, counted `failed`).
 *
 * SSRF guard: the host is resolved and EVERY address checked against address.ts (private,
 * loopback, link-local, multicast, reserved, documentation and benchmark ranges, and IPv4 carried
 * inside IPv6: mapped, compatible, NAT64, 6to4). The check runs in the socket's own DNS lookup, so the address checked is the address connected to
 * (no rebinding window). `allowPrivate` (`CAIRN_WEBHOOK_ALLOW_PRIVATE=true`, set by the local stack
 * only) lifts the guard and allows plain http, for local development.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { isPrivateAddress } from './address';
import { signDelivery } from './signature';
import { CairnError } from '../../errors';
import { renderTemplate, renderValue } from '../../definitions';
import type { ActionInput, ActionResult } from './types';
import { sleep } from '../../lang';

export interface WebhookOptions {
  attempts: number;
  timeoutMs: number;
  backoffMs: number;
}
export const WEBHOOK_DEFAULTS: WebhookOptions = { attempts: 4, timeoutMs: 5_000, backoffMs: 250 };

/** The deployment's webhook settings (functions/journey builds them from its environment). */
export interface WebhookSettings {
  /**
   * HMAC key of `X-Cairn-Signature`: the reader of the webhook secret (CAIRN_WEBHOOK_SECRET_ID,
   * shared/aws/secrets.ts). A failed read or an empty key fails the action: nothing is sent unsigned.
   */
  secret: () => Promise<string>;
  /** Private and loopback addresses and plain http allowed (CAIRN_WEBHOOK_ALLOW_PRIVATE=true: the local stack only). */
  allowPrivate: boolean;
}

/** What preparing one delivery takes: the key as read, and the address rule. */
export interface SigningSettings {
  secret: string | undefined;
  allowPrivate: boolean;
}

export { isPrivateAddress } from './address';

const refused = (host: string) => new CairnError('webhook_address_refused', `webhook host ${host} resolves to a private, loopback or link-local address`, 400);

/** dns.lookup that fails when any resolved address is private (unless allowed). */
const guardedLookup =
  (allowPrivate: boolean) =>
  (
    hostname: string,
    options: { all?: boolean; family?: number },
    cb: (err: Error | null, address?: string | LookupAddress[], family?: number) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addrs: LookupAddress[]) => {
      if (err) return cb(err);
      if (!addrs.length) return cb(new Error(`no address for ${hostname}`));
      if (!allowPrivate && addrs.some((a) => isPrivateAddress(a.address))) return cb(refused(hostname));
      if (options.all) cb(null, addrs);
      else cb(null, addrs[0]!.address, addrs[0]!.family);
    });
  };

interface Prepared {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** Renders URL, headers and body, and signs the body. Throws CairnError for a refused URL. */
export function prepareWebhook(input: ActionInput, settings: SigningSettings, now = new Date(input.now)): Prepared {
  const { allowPrivate } = settings;
  const step = input.step;
  if (step.action !== 'webhook') throw new Error('not a webhook step');
  const url = new URL(renderTemplate(step.url, input.template, { escape: 'url' }));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowPrivate)) {
    throw new CairnError('webhook_scheme_refused', `webhooks use https (got ${url.protocol.replace(':', '')})`, 400);
  }
  if (url.username || url.password) throw new CairnError('webhook_url_refused', 'webhook URLs may not carry credentials', 400);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !allowPrivate && isPrivateAddress(host)) throw refused(host);
  const hasBody = step.method !== 'GET' && step.method !== 'DELETE';
  const payload =
    step.body !== undefined
      ? renderValue(step.body, input.template)
      : { journeyId: input.journey.id, stepId: step.id, runId: input.runId, profileId: input.profile.profileId };
  const body = hasBody ? JSON.stringify(payload) : undefined;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.headers ?? {})) headers[k.toLowerCase()] = renderTemplate(v, input.template).replace(/[\r\n]/g, ' ');
  const secret = settings.secret;
  if (!secret) throw new CairnError('webhook_secret_unset', 'the webhook secret is empty: webhooks are never sent unsigned', 500);
  const timestamp = now.toISOString();
  Object.assign(headers, {
    'user-agent': 'Cairn-Journeys/1',
    'x-cairn-timestamp': timestamp,
    'x-cairn-delivery': `${input.runId}.${step.id}`,
    'x-cairn-signature': signDelivery({ timestamp, method: step.method, url: url.href, body: body ?? '' }, secret),
    ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}),
  });
  return { url, method: step.method, headers, ...(body !== undefined ? { body } : {}) };
}

/** One attempt: resolves with the HTTP status; rejects on network errors, refusals and timeouts. */
function attempt(p: Prepared, timeoutMs: number, allowPrivate: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (p.url.protocol === 'https:' ? httpsRequest : httpRequest)(p.url, {
      method: p.method,
      headers: p.headers,
      lookup: guardedLookup(allowPrivate) as never,
    });
    const timer = setTimeout(() => req.destroy(new CairnError('webhook_timeout', `no answer within ${timeoutMs} ms`, 504)), timeoutMs);
    req.on('response', (res) => {
      res.resume(); // the body is not used; drain it
      res.on('end', () => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(p.body);
  });
}

export async function sendWebhook(input: ActionInput, settings: WebhookSettings, opts: WebhookOptions = WEBHOOK_DEFAULTS): Promise<ActionResult> {
  let prepared: Prepared;
  try {
    // A key that cannot be read fails the action (`secret_unavailable`), like an unsigned one would.
    prepared = prepareWebhook(input, { secret: await settings.secret(), allowPrivate: settings.allowPrivate });
  } catch (e) {
    if (e instanceof CairnError) return { status: 'failed', reason: e.code };
    return { status: 'failed', reason: 'invalid_url' };
  }
  let reason = 'unknown';
  for (let i = 0; i < opts.attempts; i++) {
    if (i > 0) await sleep(opts.backoffMs * 2 ** (i - 1) * (0.5 + Math.random() / 2));
    try {
      const status = await attempt(prepared, opts.timeoutMs, settings.allowPrivate);
      if (status >= 200 && status < 300) return { status: 'sent', result: String(status), attempts: i + 1 };
      reason = `http_${status}`;
      if (status !== 429 && status < 500) return { status: 'failed', reason, attempts: i + 1 };
    } catch (e) {
      if (e instanceof CairnError && e.code === 'webhook_address_refused') return { status: 'failed', reason: e.code, attempts: i + 1 };
      reason = e instanceof CairnError ? e.code : `network_${(e as NodeJS.ErrnoException).code ?? 'error'}`.toLowerCase();
    }
  }
  return { status: 'failed', reason, attempts: opts.attempts };
}
