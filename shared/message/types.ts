/**
 * The message shapes that travel through Cairn. Collect accepts Segment-spec messages
 * (`RawMessage`, loosely typed: it only checks what the collection API requires) and puts
 * `RawEnvelope`s on the raw stream. Normalize validates and normalises them into
 * `NormalizedMessage`s, which go to the lake (as `LakeEventRow`s) and the normalized stream.
 */
export type MessageType = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';
export const MESSAGE_TYPES: readonly MessageType[] = ['identify', 'track', 'page', 'screen', 'group', 'alias'];

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/**
 * What a source may assert (docs/security.md#source-trust): `server` keys are secrets held by the
 * operator's systems and are believed; `browser` keys ship in pages and apps, so anyone can post with
 * them, and what such a message says about an existing person is limited (shared/identity/trust.ts).
 */
export type SourceTrust = 'server' | 'browser';
export const SOURCE_TRUSTS: readonly SourceTrust[] = ['server', 'browser'];
export const isSourceTrust = (v: unknown): v is SourceTrust => v === 'server' || v === 'browser';

/** What collect writes to the raw stream, one Kinesis record per message. */
export interface RawEnvelope {
  /** The message as sent, with `messageId`, `receivedAt` and skew-corrected `timestamp` set by collect. */
  message: JsonObject;
  /** The source (write key owner) the message came in on. */
  sourceId: string;
  /**
   * The source's trust level when the message came in (collect: the key's; import and journeys:
   * `server`). An envelope without it (written before trust levels existed) is read as `browser`.
   */
  trust: SourceTrust;
  /** ISO-8601 UTC, server time when collect received the request. */
  receivedAt: string;
}

/** A validated, normalised message: what normalize forwards and what every later stage reads. */
export interface NormalizedMessage {
  messageId: string;
  type: MessageType;
  userId?: string;
  anonymousId?: string;
  /** track */
  event?: string;
  /** page / screen */
  name?: string;
  category?: string;
  /** group */
  groupId?: string;
  /** alias */
  previousId?: string;
  properties: JsonObject;
  traits: JsonObject;
  context: JsonObject;
  /** ISO-8601 UTC with milliseconds: when it happened (skew-corrected). */
  timestamp: string;
  /** ISO-8601 UTC: when the device says it happened / sent it, as received. */
  originalTimestamp?: string;
  sentAt?: string;
  receivedAt: string;
  sourceId: string;
  /**
   * The trust level of the source (normalize always sets it). Absent only on messages built
   * elsewhere (tests, benchmarks, stream records written before trust levels existed): `server`,
   * today's rules.
   */
  trust?: SourceTrust;
}

/** One row of the `events` lake table (Segment warehouse conventions, snake_case; nested objects as JSON text). */
export interface LakeEventRow {
  message_id: string;
  type: MessageType;
  event: string | null;
  name: string | null;
  /** page / screen category (optional column: absent in rows written by other tools means null). */
  category?: string | null;
  user_id: string | null;
  anonymous_id: string | null;
  group_id: string | null;
  previous_id: string | null;
  timestamp: string;
  original_timestamp: string | null;
  sent_at: string | null;
  received_at: string;
  properties: string;
  traits: string;
  context: string;
  source_id: string;
}

/** One row of the `quarantine` lake table. */
export interface LakeQuarantineRow {
  message_id: string | null;
  /** Stable error code, e.g. `invalid_email`; see docs/errors.md. */
  code: string;
  /** Human-readable reason naming the field. */
  reason: string;
  /** The message as received, JSON text. */
  message: string;
  received_at: string;
  source_id: string | null;
  stage: 'normalize' | 'resolve' | 'import';
}
