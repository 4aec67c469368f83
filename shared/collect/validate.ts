/**
 * What collect checks in each message (only what the collection API requires, docs/api.md; deeper checks happen in
 * normalize, and failures there go to the quarantine) and what it adds: `messageId` when absent,
 * server `receivedAt`, and a `timestamp` corrected for device clock skew.
 */
import { randomUUID } from 'node:crypto';
import { CairnError } from '../errors';
import { parseIsoTimestamp, UNSAFE_NUMBER, MESSAGE_TYPES, type JsonObject, type MessageType } from '../message';
import { LIMITS } from './limits';
import { isPlainObject } from '../lang';

export type CollectRoute = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias' | 'batch' | 'import';
const TYPE_SET: ReadonlySet<string> = new Set(MESSAGE_TYPES);
/** Batch-level fields copied into every message of a batch as defaults. */
const BATCH_DEFAULTS = ['context', 'integrations', 'sentAt'] as const;

export interface PreparedMessage {
  message: JsonObject;
  /** Kinesis partition key: `userId ?? anonymousId` (alias: `userId`). */
  partitionKey: string;
}

function fail(code: string, status: number, prefix: string, field: string | undefined, what: string, index: number | undefined): never {
  const path = field ? (prefix ? `${prefix}.${field}` : field) : prefix || 'message';
  const details: Record<string, unknown> = {};
  if (index !== undefined) details.index = index;
  if (field) details.field = field;
  throw new CairnError(code, `${path}: ${what}`, status, details);
}

/**
 * Reads an identifier field: absent/null → undefined; a finite number → its string; a string as is.
 * Anything else → `invalid_field`.
 */
function idField(msg: Record<string, unknown>, field: string, prefix: string, index: number | undefined): string | undefined {
  const v = msg[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) {
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) return fail('invalid_field', 400, prefix, field, UNSAFE_NUMBER, index);
    const s = String(v);
    msg[field] = s;
    return s;
  }
  return fail('invalid_field', 400, prefix, field, 'must be a string or a number', index);
}

const nonEmpty = (s: string | undefined): s is string => s !== undefined && s.trim().length > 0;

/**
 * Validates one message in place (converting numeric ids to strings) and returns its partition key.
 * `impliedType` is the route's type for single-message routes; batch messages must carry `type`.
 */
export function validateMessage(msg: unknown, impliedType: MessageType | undefined, index?: number): string {
  const prefix = index === undefined ? '' : `batch[${index}]`;
  if (!isPlainObject(msg)) return fail('invalid_message', 400, prefix, undefined, 'must be a JSON object', index);
  const size = Buffer.byteLength(JSON.stringify(msg));
  if (size > LIMITS.messageBytes) {
    return fail('message_too_large', 413, prefix, undefined, `message is ${size} bytes, more than the ${LIMITS.messageBytes}-byte limit`, index);
  }
  let type: MessageType;
  if (impliedType) {
    type = impliedType;
    msg.type = impliedType;
  } else if (msg.type === undefined || msg.type === null) {
    return fail('missing_field', 400, prefix, 'type', `required (one of ${MESSAGE_TYPES.join(', ')})`, index);
  } else if (typeof msg.type !== 'string' || !TYPE_SET.has(msg.type)) {
    return fail('invalid_type', 400, prefix, 'type', `must be one of ${MESSAGE_TYPES.join(', ')}`, index);
  } else type = msg.type as MessageType;

  const messageId = idField(msg, 'messageId', prefix, index);
  if (messageId !== undefined && messageId.trim() === '') delete msg.messageId;
  const userId = idField(msg, 'userId', prefix, index);
  const anonymousId = idField(msg, 'anonymousId', prefix, index);

  if (type === 'alias') {
    const previousId = idField(msg, 'previousId', prefix, index);
    if (!nonEmpty(previousId)) fail('missing_field', 400, prefix, 'previousId', 'required for alias', index);
    if (!nonEmpty(userId)) fail('missing_field', 400, prefix, 'userId', 'required for alias', index);
    return userId;
  }
  if (!nonEmpty(userId) && !nonEmpty(anonymousId)) {
    return fail('missing_identity', 400, prefix, 'userId', 'userId or anonymousId is required (a non-empty string)', index);
  }
  if (type === 'track') {
    const ev = msg.event;
    if (ev === undefined || ev === null || ev === '') fail('missing_field', 400, prefix, 'event', 'required for track', index);
    if (typeof ev !== 'string' || ev.trim() === '') fail('invalid_field', 400, prefix, 'event', 'must be a non-empty string', index);
  }
  if (type === 'group') {
    const groupId = idField(msg, 'groupId', prefix, index);
    if (!nonEmpty(groupId)) fail('missing_field', 400, prefix, 'groupId', 'required for group', index);
  }
  return nonEmpty(userId) ? userId : (anonymousId as string);
}

/**
 * Skew correction (Segment semantics). With a valid `timestamp` and `sentAt`:
 * `timestamp = receivedAt - (sentAt - timestamp)`; the device's value is kept in `originalTimestamp`.
 * Without a timestamp: `timestamp = receivedAt`. An unparseable timestamp is left for normalize
 * to quarantine.
 */
export function correctSkew(msg: Record<string, unknown>, receivedAtMs: number): void {
  const ts = msg.timestamp;
  if (ts === undefined || ts === null || ts === '') {
    msg.timestamp = new Date(receivedAtMs).toISOString();
    return;
  }
  const tsMs = parseIsoTimestamp(ts);
  if (Number.isNaN(tsMs)) return;
  msg.originalTimestamp = ts;
  const sentMs = parseIsoTimestamp(msg.sentAt);
  if (Number.isNaN(sentMs)) return;
  const corrected = receivedAtMs - (sentMs - tsMs);
  const d = new Date(corrected);
  if (!Number.isNaN(d.getTime())) msg.timestamp = d.toISOString();
}

/**
 * Validates a parsed request body for `route` and returns the messages ready for the raw stream.
 * A batch is accepted or rejected whole: the first failing message throws, naming its index.
 */
export function prepareMessages(body: Record<string, unknown>, route: CollectRoute, receivedAt: Date, newId: () => string = randomUUID): PreparedMessage[] {
  const receivedAtMs = receivedAt.getTime();
  const receivedAtIso = receivedAt.toISOString();
  let raw: unknown[];
  let implied: MessageType | undefined;
  const isBatch = route === 'batch' || route === 'import' || Object.hasOwn(body, 'batch');
  if (isBatch && Object.hasOwn(body, 'batch')) {
    if (!Array.isArray(body.batch)) throw new CairnError('invalid_field', 'batch: must be an array of messages', 400, { field: 'batch' });
    raw = body.batch;
    if (raw.length > LIMITS.batchMessages) {
      throw new CairnError('batch_too_large', `batch: ${raw.length} messages, more than the limit of ${LIMITS.batchMessages}`, 413, {
        limit: LIMITS.batchMessages,
      });
    }
    for (const k of BATCH_DEFAULTS) {
      const v = body[k];
      if (v === undefined) continue;
      for (const m of raw) {
        if (!isPlainObject(m)) continue;
        if (k === 'context' && isPlainObject(v)) m.context = isPlainObject(m.context) ? { ...v, ...m.context } : m.context === undefined ? { ...v } : m.context;
        else if (m[k] === undefined) m[k] = v;
      }
    }
  } else {
    const { writeKey: _wk, ...msg } = body;
    raw = [msg];
    implied = route === 'batch' || route === 'import' ? undefined : route;
  }
  const out: PreparedMessage[] = [];
  for (let i = 0; i < raw.length; i++) {
    const msg = raw[i];
    const partitionKey = validateMessage(msg, implied, isBatch ? i : undefined);
    const m = msg as Record<string, unknown>;
    delete m.writeKey;
    if (m.messageId === undefined || m.messageId === null) m.messageId = newId();
    m.receivedAt = receivedAtIso;
    correctSkew(m, receivedAtMs);
    out.push({ message: m as JsonObject, partitionKey });
  }
  return out;
}
