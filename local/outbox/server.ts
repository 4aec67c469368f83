/**
 * The local outbox: a small HTTP server on 127.0.0.1 that speaks the two AWS APIs journey actions
 * use, so the handlers call SES and SNS through the same SDK clients as on AWS (only the endpoint
 * differs) and every message lands in a journal instead of a mailbox or a phone:
 *
 * - SES v2 `SendEmail` (REST-JSON, `POST /v2/email/outbound-emails`, Simple content);
 * - SNS `Publish` to a phone number (query protocol, `POST /` with `Action=Publish`).
 *
 * Messages are appended to `<dataDir>/outbox/outbox.jsonl` (kept across restarts) and listed,
 * newest first, by `list()` (served as `GET /v1/outbox?limit=` on the stack's port).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { AwsError, closeServer, listen, readBody, sendJson } from '../aws-http';
import { Journal, readJsonLines } from '../eventbridge/store';
import { isPlainObject } from '#shared/lang';

export interface OutboxMessage {
  id: string;
  channel: 'email' | 'sms';
  /** ISO-8601 time the outbox accepted it. */
  sentAt: string;
  to: string[];
  from?: string;
  subject?: string;
  /** Email text part, or the SMS text. */
  text: string;
  html?: string;
  /** SES email tags (journey, step). */
  tags?: Record<string, string>;
}

export interface LocalOutbox {
  endpoint: string;
  /** Newest first. */
  list(limit?: number): OutboxMessage[];
  close(): Promise<void>;
}

const MAX_BODY = 10 * 1024 * 1024;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml), 'x-amzn-requestid': randomUUID() });
  res.end(xml);
}

function snsError(res: ServerResponse, code: string, message: string, status = 400): void {
  sendXml(
    res,
    status,
    `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function sesError(res: ServerResponse, e: AwsError): void {
  sendJson(res, e.status, { message: e.message }, { 'x-amzn-errortype': e.type });
}

/** SES v2 SendEmail request → outbox message (Simple content only; Raw and Template are refused). */
function parseSendEmail(body: unknown): Omit<OutboxMessage, 'id' | 'sentAt'> {
  if (!isPlainObject(body)) throw new AwsError('BadRequestException', 'Request body must be a JSON object');
  const dest = isPlainObject(body.Destination) ? body.Destination : {};
  const to = [dest.ToAddresses, dest.CcAddresses, dest.BccAddresses].flatMap((l) =>
    Array.isArray(l) ? l.filter((x): x is string => typeof x === 'string') : [],
  );
  if (!to.length) throw new AwsError('BadRequestException', 'Destination must have at least one address');
  const from = str(body.FromEmailAddress);
  if (!from) throw new AwsError('BadRequestException', 'FromEmailAddress is required (no default identity locally)');
  const content = isPlainObject(body.Content) ? body.Content : {};
  const simple = isPlainObject(content.Simple) ? content.Simple : undefined;
  if (!simple) throw new AwsError('BadRequestException', 'Only Content.Simple is supported by the local outbox');
  const subject = isPlainObject(simple.Subject) ? str(simple.Subject.Data) : undefined;
  const b = isPlainObject(simple.Body) ? simple.Body : {};
  const text = isPlainObject(b.Text) ? str(b.Text.Data) : undefined;
  const html = isPlainObject(b.Html) ? str(b.Html.Data) : undefined;
  if (subject === undefined) throw new AwsError('BadRequestException', 'Content.Simple.Subject.Data is required');
  if (text === undefined && html === undefined) throw new AwsError('BadRequestException', 'Content.Simple.Body needs Text or Html');
  const tags: Record<string, string> = {};
  for (const t of Array.isArray(body.EmailTags) ? body.EmailTags : [])
    if (isPlainObject(t) && str(t.Name) && str(t.Value)) tags[t.Name as string] = t.Value as string;
  return { channel: 'email', to, from, subject, text: text ?? '', ...(html !== undefined ? { html } : {}), ...(Object.keys(tags).length ? { tags } : {}) };
}

export async function startOutbox(opts: { dataDir: string; port?: number }): Promise<LocalOutbox> {
  const file = join(opts.dataDir, 'outbox', 'outbox.jsonl');
  const journal = new Journal(file);
  const messages: OutboxMessage[] = readJsonLines<OutboxMessage>(file);

  const accept = async (m: Omit<OutboxMessage, 'id' | 'sentAt'>): Promise<OutboxMessage> => {
    const msg: OutboxMessage = { id: randomUUID(), sentAt: new Date().toISOString(), ...m };
    await journal.append([msg]);
    messages.push(msg);
    return msg;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'POST' && path === '/v2/email/outbound-emails') {
      try {
        const raw = (await readBody(req, MAX_BODY)).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(raw || '{}');
        } catch {
          throw new AwsError('BadRequestException', 'Request body is not valid JSON');
        }
        const msg = await accept(parseSendEmail(body));
        return sendJson(res, 200, { MessageId: msg.id });
      } catch (e) {
        return sesError(res, e instanceof AwsError ? e : new AwsError('InternalFailure', (e as Error).message, 500));
      }
    }
    if (req.method === 'POST' && path === '/') {
      const form = new URLSearchParams((await readBody(req, MAX_BODY)).toString('utf8'));
      if (form.get('Action') !== 'Publish') return snsError(res, 'InvalidAction', `The local outbox supports Action=Publish only, not ${form.get('Action')}`);
      const phone = form.get('PhoneNumber');
      if (!phone) return snsError(res, 'InvalidParameter', 'Invalid parameter: PhoneNumber (the local outbox delivers SMS to phone numbers only)');
      if (!/^\+[1-9]\d{6,14}$/.test(phone)) return snsError(res, 'InvalidParameter', 'Invalid parameter: PhoneNumber Reason: not an E.164 number');
      const text = form.get('Message');
      if (!text) return snsError(res, 'InvalidParameter', 'Invalid parameter: Empty message');
      const msg = await accept({ channel: 'sms', to: [phone], text });
      return sendXml(
        res,
        200,
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${msg.id}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    }
    sendJson(res, 404, { message: `no local SES/SNS operation at ${req.method} ${path}` }, { 'x-amzn-errortype': 'NotFoundException' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) sendJson(res, 500, { message: (e as Error).message }, { 'x-amzn-errortype': 'InternalFailure' });
    });
  });
  const port = await listen(server, opts.port ?? 0);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    list: (limit = 50) => messages.slice(-limit).reverse(),
    async close() {
      await journal.flush();
      await closeServer(server);
    },
  };
}
