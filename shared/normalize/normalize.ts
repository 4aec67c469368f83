/**
 * The normalize stage's pure core: a RawEnvelope (as decoded from the raw stream) → a
 * NormalizedMessage, or a quarantine reason with a stable code naming the field.
 * Validation follows the Segment spec (zod); normalisation lower-cases/trims emails, formats
 * phones as E.164 and every timestamp as ISO-8601 UTC with milliseconds.
 */
import { z } from 'zod';
import type { CountryCode } from 'libphonenumber-js';
import {
  FUTURE_SKEW_MS,
  findForbiddenKey,
  formatPath,
  parseIsoTimestamp,
  toIsoUtc,
  UNSAFE_NUMBER,
  MESSAGE_TYPES,
  type JsonObject,
  type LakeQuarantineRow,
  type MessageType,
  type NormalizedMessage,
  SOURCE_TRUSTS,
  type SourceTrust,
} from '../message';
import { normalizePhone } from './phone';
import { isPlainObject } from '../lang';

export type NormalizeResult = { ok: true; message: NormalizedMessage } | { ok: false; code: string; reason: string; messageId: string | null };

const isoTimestamp = z.string().refine((s) => !Number.isNaN(parseIsoTimestamp(s)), { message: 'must be an ISO-8601 timestamp' });
const id = z.union([z.string(), z.number().finite()], { message: 'must be a string or a number' }).nullish();
const optString = z.string({ message: 'must be a string' }).nullish();
const object = z.custom<JsonObject>(isPlainObject, { message: 'must be an object' }).nullish();

const envelopeSchema = z.object({
  message: z.custom<JsonObject>(isPlainObject, { message: 'must be an object' }),
  sourceId: z.string({ message: 'must be a string' }).min(1, { message: 'must not be empty' }),
  trust: z.enum(SOURCE_TRUSTS as [SourceTrust, ...SourceTrust[]], { message: `must be one of ${SOURCE_TRUSTS.join(', ')}` }).optional(),
  receivedAt: isoTimestamp,
});

const TIMESTAMP_FIELDS: ReadonlySet<string> = new Set(['timestamp', 'originalTimestamp', 'sentAt', 'receivedAt']);

export const messageSchema = z.looseObject({
  type: z.enum(MESSAGE_TYPES as [MessageType, ...MessageType[]], { message: `must be one of ${MESSAGE_TYPES.join(', ')}` }),
  messageId: z.union([z.string().min(1, { message: 'must not be empty' }), z.number().finite()], { message: 'must be a string' }),
  userId: id,
  anonymousId: id,
  previousId: id,
  groupId: id,
  event: optString,
  name: optString,
  category: optString,
  properties: object,
  traits: object,
  context: object,
  integrations: object,
  timestamp: isoTimestamp.nullish(),
  originalTimestamp: isoTimestamp.nullish(),
  sentAt: isoTimestamp.nullish(),
  receivedAt: isoTimestamp.nullish(),
});

class Reject extends Error {
  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function issueToReject(issue: z.core.$ZodIssue, base: string, input: Record<string, unknown>): Reject {
  const field = String(issue.path[0] ?? '');
  const path = formatPath(base, issue.path as (string | number)[]) || 'message';
  const missing = issue.path.length === 1 && input[field] === undefined;
  let code = 'invalid_field';
  if (missing) code = 'missing_field';
  else if (field === 'type') code = 'invalid_type';
  else if (TIMESTAMP_FIELDS.has(field)) code = 'invalid_timestamp';
  return new Reject(code, `${path}: ${missing ? 'required' : issue.message}`);
}

const idOf = (v: unknown, field: string): string | undefined => {
  if (typeof v === 'string') return v;
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  if (Number.isInteger(v) && !Number.isSafeInteger(v)) throw new Reject('invalid_field', `${field}: ${UNSAFE_NUMBER}`);
  return String(v);
};
const nonEmpty = (s: string | undefined): s is string => s !== undefined && s.trim() !== '';
const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

function normEmail(obj: JsonObject, path: string): JsonObject {
  if (!Object.hasOwn(obj, 'email')) return obj;
  const v = obj.email;
  if (v === null) return obj;
  if (typeof v !== 'string') throw new Reject('invalid_email', `${path}.email: must be a string`);
  const e = v.normalize('NFC').trim().toLowerCase();
  if (!EMAIL_RE.test(e)) throw new Reject('invalid_email', `${path}.email: not an email address`);
  return e === v ? obj : { ...obj, email: e };
}

function normPhone(obj: JsonObject, path: string, country: CountryCode): JsonObject {
  if (!Object.hasOwn(obj, 'phone')) return obj;
  const v = obj.phone;
  if (v === null) return obj;
  if (typeof v !== 'string' && typeof v !== 'number') throw new Reject('invalid_phone', `${path}.phone: must be a string`);
  const p = normalizePhone(String(v), country);
  return p === v ? obj : { ...obj, phone: p };
}

/**
 * Validates and normalises one decoded raw-stream value. Never throws for bad input: the result
 * says why (stable `code`, `reason` naming the field). Does not mutate `envelope`.
 */
export function normalizeEnvelope(envelope: unknown, country: CountryCode): NormalizeResult {
  const rawId = isPlainObject(envelope) && isPlainObject(envelope.message) ? envelope.message.messageId : undefined;
  const messageId = typeof rawId === 'string' && rawId !== '' ? rawId : typeof rawId === 'number' ? String(rawId) : null;
  try {
    return { ok: true, message: normalizeOrThrow(envelope, country) };
  } catch (e) {
    if (e instanceof Reject) return { ok: false, code: e.code, reason: e.reason, messageId };
    throw e;
  }
}

function normalizeOrThrow(envelope: unknown, country: CountryCode): NormalizedMessage {
  if (!isPlainObject(envelope)) throw new Reject('invalid_envelope', 'envelope: must be an object');
  const env = envelopeSchema.safeParse(envelope);
  if (!env.success) {
    const issue = env.error.issues[0]!;
    throw new Reject('invalid_envelope', `envelope.${formatPath('', issue.path as (string | number)[])}: ${issue.message}`);
  }
  const msg = env.data.message;
  const bad = findForbiddenKey(msg);
  if (bad) throw new Reject('forbidden_key', `${bad}: key is not allowed`);
  const parsed = messageSchema.safeParse(msg);
  if (!parsed.success) throw issueToReject(parsed.error.issues[0]!, '', msg);
  const m = parsed.data;
  const type = m.type;

  const userId = idOf(m.userId, 'userId');
  const anonymousId = idOf(m.anonymousId, 'anonymousId');
  const previousId = idOf(m.previousId, 'previousId');
  const groupId = idOf(m.groupId, 'groupId');
  if (type === 'alias') {
    if (!nonEmpty(previousId)) throw new Reject('missing_field', 'previousId: required for alias');
    if (!nonEmpty(userId)) throw new Reject('missing_field', 'userId: required for alias');
  } else if (!nonEmpty(userId) && !nonEmpty(anonymousId)) {
    throw new Reject('missing_identity', 'userId: userId or anonymousId is required');
  }
  if (type === 'track' && !nonEmpty(m.event ?? undefined)) throw new Reject('missing_field', 'event: required for track');
  if (type === 'group' && !nonEmpty(groupId)) throw new Reject('missing_field', 'groupId: required for group');

  let properties: JsonObject = m.properties ?? {};
  let traits: JsonObject = m.traits ?? {};
  let context: JsonObject = m.context ?? {};
  const ctxTraits = context.traits;
  if (ctxTraits !== undefined && ctxTraits !== null && !isPlainObject(ctxTraits)) {
    throw new Reject('invalid_field', 'context.traits: must be an object');
  }
  traits = normPhone(normEmail(traits, 'traits'), 'traits', country);
  properties = normEmail(properties, 'properties');
  if (isPlainObject(ctxTraits)) {
    const t = normPhone(normEmail(ctxTraits, 'context.traits'), 'context.traits', country);
    if (t !== ctxTraits) context = { ...context, traits: t };
  }

  const receivedAt = toIsoUtc(env.data.receivedAt)!;
  const sent = m.timestamp != null ? toIsoUtc(m.timestamp) : undefined;
  const future = sent !== undefined && Date.parse(sent) > Date.parse(receivedAt) + FUTURE_SKEW_MS;
  const out: NormalizedMessage = {
    messageId: String(m.messageId),
    type,
    properties,
    traits,
    context,
    timestamp: future ? receivedAt : (sent ?? receivedAt),
    receivedAt,
    sourceId: env.data.sourceId,
    // An envelope from before trust levels (a replayed batch) is held to the browser rules: the safe reading.
    trust: env.data.trust ?? 'browser',
  };
  if (userId !== undefined && userId !== '') out.userId = userId;
  if (anonymousId !== undefined && anonymousId !== '') out.anonymousId = anonymousId;
  if (type === 'track') out.event = m.event!;
  if (m.name != null) out.name = m.name;
  if (m.category != null) out.category = m.category;
  if (groupId !== undefined && groupId !== '') out.groupId = groupId;
  if (previousId !== undefined && previousId !== '') out.previousId = previousId;
  if (m.originalTimestamp != null) out.originalTimestamp = toIsoUtc(m.originalTimestamp)!;
  // A clamped timestamp: the value the client sent stays visible in the lake.
  if (future) out.originalTimestamp = sent;
  if (m.sentAt != null) out.sentAt = toIsoUtc(m.sentAt)!;
  return out;
}

/** A quarantine row for a message normalize rejected. `raw` is the record's data as text. */
export function quarantineRow(
  raw: string,
  code: string,
  reason: string,
  messageId: string | null,
  receivedAt: string,
  sourceId: string | null,
  stage: LakeQuarantineRow['stage'] = 'normalize',
): LakeQuarantineRow {
  return { message_id: messageId, code, reason, message: raw, received_at: receivedAt, source_id: sourceId, stage };
}
