/** Small HTTP helpers of the local AWS-API servers (EventBridge, Scheduler, Athena, Secrets Manager, the outbox): errors as the SDK reads them, bodies, pagination. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/** An AWS-shaped service error: `type` is the exception name the SDK raises. */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new AwsError('ValidationException', `Request body is larger than ${limit} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

export function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** Opaque pagination tokens: base64url of the last item's sort key. */
export const encodeToken = (key: string) => Buffer.from(key, 'utf8').toString('base64url');
export const decodeToken = (token: string): string => {
  const s = Buffer.from(token, 'base64url').toString('utf8');
  if (!s) throw new AwsError('ValidationException', 'The NextToken is not valid');
  return s;
};

export function paginate<T>(items: T[], keyOf: (t: T) => string, limit: number | undefined, nextToken: string | undefined, max = 100) {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > max)) {
    throw new AwsError('ValidationException', `Limit must be between 1 and ${max}`);
  }
  const after = nextToken ? decodeToken(nextToken) : undefined;
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const start = after === undefined ? 0 : sorted.findIndex((t) => keyOf(t) > after);
  const from = start < 0 ? sorted.length : start;
  const n = limit ?? max;
  const page = sorted.slice(from, from + n);
  const more = from + n < sorted.length;
  return { page, nextToken: more && page.length ? encodeToken(keyOf(page[page.length - 1]!)) : undefined };
}
