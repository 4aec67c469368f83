/**
 * The AWS JSON 1.1 protocol as the local Athena, Secrets Manager and EventBridge serve it: `POST`
 * with `X-Amz-Target: <target>.<Operation>` and a JSON object body, answered in
 * `application/x-amz-json-1.1`; an error is `{ __type, Message }` (EventBridge: `message`) with
 * `x-amzn-errortype`, as the SDK reads it. `GET /` and `/health` answer `{ status: 'ok' }` for the
 * stack's checks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isPlainObject } from '#shared/lang';
import { log } from '#shared/log';
import { AwsError, closeServer, listen, readBody, sendJson } from './aws-http';

const JSON_HEADERS = { 'content-type': 'application/x-amz-json-1.1' };

export interface AwsJsonService {
  /** The X-Amz-Target prefix: `AmazonAthena`, `secretsmanager`. */
  target: string;
  /** The service as messages name it: `Athena`, `Secrets Manager`. */
  name: string;
  /** The prefix of its log events: `athena` logs `athena.internal_error`. */
  logAs: string;
  maxBody: number;
  /** The exception a failure of ours is, as the SDK model names it. */
  internalError: string;
  /** The error body's message field as the service sends it (default `Message`; EventBridge `message`). */
  messageKey?: 'Message' | 'message';
  operations: Record<string, (body: Record<string, unknown>) => unknown>;
}

export function awsJsonHandler(service: AwsJsonService): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const target = new RegExp(`^${service.target}\\.(\\w+)$`);
  const error = (type: string, message: string) => ({ __type: type, [service.messageKey ?? 'Message']: message });
  return async (req, res) => {
    try {
      const header = String(req.headers['x-amz-target'] ?? '');
      const m = target.exec(header);
      if (req.method !== 'POST' || !m) {
        if (req.method === 'GET' && (req.url === '/' || req.url === '/health')) return sendJson(res, 200, { status: 'ok' });
        throw new AwsError(
          'UnknownOperationException',
          `Expected POST with X-Amz-Target: ${service.target}.<Operation>, got ${req.method} ${header || '(none)'}`,
        );
      }
      const op = service.operations[m[1]!];
      if (!op) throw new AwsError('UnknownOperationException', `The local ${service.name} does not support ${m[1]}`);
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req, service.maxBody)).toString('utf8') || '{}');
      } catch (e) {
        if (e instanceof AwsError) throw e;
        throw new AwsError('SerializationException', 'Request body is not valid JSON');
      }
      if (!isPlainObject(body)) throw new AwsError('SerializationException', 'Request body must be a JSON object');
      sendJson(res, 200, await op(body), JSON_HEADERS);
    } catch (e) {
      if (e instanceof AwsError) sendJson(res, e.status, error(e.type, e.message), { ...JSON_HEADERS, 'x-amzn-errortype': e.type });
      else {
        log('error', `${service.logAs}.internal_error`, { error: (e as Error)?.message });
        sendJson(res, 500, error(service.internalError, `Internal error in the local ${service.name}`), {
          ...JSON_HEADERS,
          'x-amzn-errortype': service.internalError,
        });
      }
    }
  };
}

/** Serves `service` on 127.0.0.1 (`port` 0: any free one). */
export async function serveAwsJson(service: AwsJsonService, port = 0): Promise<{ endpoint: string; close(): Promise<void> }> {
  const handle = awsJsonHandler(service);
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5_000;
  const endpoint = `http://127.0.0.1:${await listen(server, port)}`;
  return { endpoint, close: () => closeServer(server) };
}
