/**
 * The demo's local CRM (docs/demo.md): a small HTTP server on 127.0.0.1, on a free port, that
 * receives the example journeys' webhooks (`vip-welcome` posts each new VIP to the CRM) the way a
 * real receiver should:
 * - it checks `X-Cairn-Signature` (HMAC-SHA256 over timestamp, method, URL and exact body with the
 *   stack's webhook secret; shared/journeys/actions/signature.ts) in constant time, and a timestamp
 *   within 5 minutes, and answers `401` when either fails — the journey then counts the step `failed`
 *   (`http_401`), as with any real failure;
 * - it answers a repeated `X-Cairn-Delivery` `200` again without recording it twice.
 * Deliveries are kept in memory (the latest 1,000) and listed newest first by
 * `GET /deliveries?limit=` (1–1000, default 50), like the stack's outbox (`GET /v1/outbox`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyDelivery, type Verdict } from '#shared/journeys';

export interface CrmDelivery {
  /** `X-Cairn-Delivery`: journey run and step. */
  id: string;
  receivedAt: string;
  method: string;
  path: string;
  /** `X-Cairn-Timestamp`: when Cairn sent it. */
  sentAt?: string;
  /** The JSON body (the text when it is not JSON). */
  body: unknown;
}

export interface CrmCounts {
  /** Deliveries recorded: signature verified, first time their id was seen. */
  verified: number;
  /** Requests refused with 401: no signature, or one that does not verify. */
  rejected: number;
  /** Verified requests repeating a delivery id already recorded (answered 200, not recorded). */
  repeated: number;
}

export interface CrmReceiver {
  /** `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** The webhook URL the example journey posts to: `<baseUrl>/hooks/vip`. */
  hookUrl: string;
  deliveries(limit?: number): CrmDelivery[];
  counts(): CrmCounts;
  close(): Promise<void>;
}

const MAX_BODY = 256 * 1024;
const KEEP = 1000;

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const one = (h: string | string[] | undefined) => (typeof h === 'string' ? h : undefined);

/** A request's verdict: signed by `secret` over its timestamp, method, `url` and body, and recent. */
export const deliveryVerdict = (req: IncomingMessage, url: string, body: Buffer, secret: string, now = Date.now()): Verdict =>
  verifyDelivery(
    { timestamp: one(req.headers['x-cairn-timestamp']), signature: one(req.headers['x-cairn-signature']), method: req.method ?? '', url, body },
    secret,
    now,
  );

/** Starts the receiver. `secret()` is read per request (the stack may set it after the receiver starts). */
export async function startCrmReceiver(o: { secret: () => string }): Promise<CrmReceiver> {
  const kept: CrmDelivery[] = []; // oldest first
  const seen = new Set<string>();
  const counts: CrmCounts = { verified: 0, rejected: 0, repeated: 0 };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const list = (limit = 50) => kept.slice(-Math.max(1, Math.min(1000, limit))).reverse();

  let baseUrl = '';
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'GET' && url.pathname === '/deliveries') {
        const limit = Number(url.searchParams.get('limit') ?? 50);
        return send(res, 200, { deliveries: list(Number.isInteger(limit) ? limit : 50), ...counts });
      }
      if (!url.pathname.startsWith('/hooks/')) return send(res, 404, { error: 'not found' });
      const body = await readBody(req);
      if (!body) return send(res, 413, { error: 'body too large' });
      // The URL Cairn requested: this receiver's own address (the example journey posts to it as is).
      const verdict = deliveryVerdict(req, `${baseUrl}${req.url ?? '/'}`, body, o.secret());
      if (!verdict.ok) {
        counts.rejected++;
        return send(res, 401, {
          error: `X-Cairn-Signature ${verdict.reason === 'stale' ? 'is older than 5 minutes (or from the future)' : verdict.reason === 'missing' ? 'or X-Cairn-Timestamp is missing' : 'does not verify with the webhook secret'}`,
        });
      }
      const id = String(req.headers['x-cairn-delivery'] ?? '');
      if (id && seen.has(id)) {
        counts.repeated++;
        return send(res, 200, { ok: true, repeated: true });
      }
      if (id) seen.add(id);
      counts.verified++;
      let parsed: unknown = body.toString('utf8');
      try {
        parsed = JSON.parse(parsed as string);
      } catch {
        // not JSON: keep the text
      }
      kept.push({
        id,
        receivedAt: new Date().toISOString(),
        method: req.method ?? 'POST',
        path: url.pathname,
        ...(req.headers['x-cairn-timestamp'] ? { sentAt: String(req.headers['x-cairn-timestamp']) } : {}),
        body: parsed,
      });
      if (kept.length > KEEP) kept.splice(0, kept.length - KEEP);
      send(res, 200, { ok: true });
    })().catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'receiver error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    hookUrl: `${baseUrl}/hooks/vip`,
    deliveries: list,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
