/**
 * `cairn send`: messages from a file or stdin to the collector's `/v1/batch`.
 * Accepts one message, an array, `{"batch":[...]}` or JSON Lines (one message per line).
 * Input over the collector's request limits (2,500 messages, 500 KB) goes in several requests, in order;
 * the first rejected request stops the run.
 */
import { CairnError } from '#shared/errors';
import type { JsonObject } from '#shared/message';
import { answerError, collectPost, type Target } from './http';
import { isPlainObject } from '#shared/lang';

export const MAX_BATCH_MESSAGES = 2500;
/** Stay under the 500 KB request limit with room for the envelope. */
export const MAX_BATCH_BYTES = 480 * 1024;

export interface ParsedInput {
  messages: JsonObject[];
  /** Top-level fields of a `{"batch":[...]}` body besides `batch` (e.g. a shared `context`). */
  envelope: JsonObject;
}

export function parseMessages(text: string, source = 'input'): ParsedInput {
  const trimmed = text.trim();
  if (!trimmed) throw new CairnError('usage', `no messages in ${source}`, 400);
  let whole: unknown;
  let parsedWhole = true;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    parsedWhole = false;
  }
  if (parsedWhole) {
    if (Array.isArray(whole)) return { messages: checkAll(whole, source), envelope: {} };
    if (isPlainObject<JsonObject>(whole)) {
      if (Array.isArray(whole.batch)) {
        const { batch, ...envelope } = whole;
        return { messages: checkAll(batch, source), envelope };
      }
      return { messages: [whole], envelope: {} };
    }
    throw new CairnError('usage', `${source}: expected a JSON object, an array or JSON Lines`, 400);
  }
  const messages: JsonObject[] = [];
  trimmed.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new CairnError('usage', `${source} line ${i + 1}: invalid JSON (${(e as Error).message})`, 400);
    }
    if (!isPlainObject<JsonObject>(v)) throw new CairnError('usage', `${source} line ${i + 1}: expected a JSON object`, 400);
    messages.push(v);
  });
  return { messages, envelope: {} };
}

function checkAll(list: unknown[], source: string): JsonObject[] {
  if (list.length === 0) throw new CairnError('usage', `no messages in ${source}`, 400);
  list.forEach((m, i) => {
    if (!isPlainObject<JsonObject>(m)) throw new CairnError('usage', `${source}: message ${i} is not a JSON object`, 400);
  });
  return list as JsonObject[];
}

export interface RequestBody {
  /** Index of the first message in the input. */
  first: number;
  count: number;
  body: string;
}

/** Splits messages into request bodies within the batch limits, in order. */
export function batchBodies(input: ParsedInput, maxMessages = MAX_BATCH_MESSAGES, maxBytes = MAX_BATCH_BYTES): RequestBody[] {
  const envelopeBytes = Buffer.byteLength(JSON.stringify({ ...input.envelope, batch: [] }));
  const out: RequestBody[] = [];
  let start = 0;
  let current: string[] = [];
  let bytes = envelopeBytes;
  const flush = () => {
    if (!current.length) return;
    const env = JSON.stringify({ ...input.envelope, batch: [] });
    // Splice the serialised messages into the envelope's empty batch array.
    const at = env.lastIndexOf('"batch":[]') + '"batch":['.length;
    out.push({ first: start, count: current.length, body: env.slice(0, at) + current.join(',') + env.slice(at) });
    start += current.length;
    current = [];
    bytes = envelopeBytes;
  };
  for (const m of input.messages) {
    const s = JSON.stringify(m);
    const b = Buffer.byteLength(s) + 1;
    if (current.length && (current.length >= maxMessages || bytes + b > maxBytes)) flush();
    current.push(s);
    bytes += b;
  }
  flush();
  return out;
}

export interface SendResult {
  requests: number;
  messages: number;
  /** The collector's answer to the last request. */
  answer: unknown;
}

/** Posts every message; throws the API's error (with the absolute message range) on the first rejection. */
export async function sendMessages(target: Target, input: ParsedInput, opts: { onProgress?: (sent: number) => void } = {}): Promise<SendResult> {
  const bodies = batchBodies(input);
  let answer: unknown;
  let sent = 0;
  for (const [r, { first, count, body }] of bodies.entries()) {
    const a = await collectPost(target, '/v1/batch', body);
    if (a.status !== 200) {
      const e = answerError(a, 'request rejected');
      if (bodies.length > 1) {
        e.message = `request ${r + 1} of ${bodies.length} (messages ${first}-${first + count - 1}; ${sent} accepted before it): ${e.message}`;
      }
      throw e;
    }
    answer = a.json ?? a.text;
    sent += count;
    opts.onProgress?.(sent);
  }
  return { requests: bodies.length, messages: sent, answer };
}
