/**
 * The lake's history a journey simulation replays (docs/journeys.md#simulation): the track events the
 * journey reacts to, the profile rows (snapshots on change and daily) of the window, and the emails and
 * SMS other journeys sent (their `journey_steps` rows, which the policy's caps count). Three SELECTs
 * in the subset of SQL DuckDB (the local lake, `cairn sql`) and Athena share — plain columns, string
 * comparisons on `dt`, no JSON or time functions — so one text runs on both; the rows are read here
 * whatever the engine made of JSON (text or objects) and timestamps (text).
 */
import { COUPONS } from '../../config';
import { conditionsOf, eventConditions, walkSteps, type JourneyDef, type PolicyDef, type Json, type JsonObject } from '../../definitions';
import type { Computed, ConsentState, ProfileRecord } from '../../identity';
import { isPlainObject } from '../../lang';

/** What an engine answers: column names and rows of cells. */
export interface LakeRows {
  columns: { name: string }[];
  rows: unknown[][];
}

/** Runs one SELECT over the lake (DuckDB over the local files, Athena on AWS). */
export type LakeQuery = (sql: string) => Promise<LakeRows>;

/** One event of the history: the message as the pipeline published it, and when it reached the pipeline. */
export interface HistoryEvent {
  message: JsonObject & { messageId: string; type: string; timestamp: string };
  /** `received_at`, ms: when λ journey would have handled it (the pipeline's latency aside). */
  receivedAt: number;
}

/** One `profiles` row, as a profile record at `updatedAt`. */
export interface ProfileRow {
  profileId: string;
  updatedAt: number;
  record: ProfileRecord;
}

/** An email or SMS another journey sent (a `journey_steps` row): it counts against the policy's caps. */
export interface PriorSend {
  id: string;
  profileId: string;
  channel: 'email' | 'sms';
  journeyId: string;
  at: number;
}

export interface History {
  events: HistoryEvent[];
  profiles: ProfileRow[];
  sends: PriorSend[];
  /** False when a read hit its row limit (the simulation then says so). */
  complete: boolean;
  /** What each read returned, and its limit. */
  reads: { table: 'events' | 'profiles' | 'journey_steps'; rows: number; limit: number }[];
}

export interface HistoryWindow {
  /** Start of the replayed window, ms. */
  since: number;
  /** Its end (now), ms. */
  until: number;
  /** Read events this much earlier too, for the audience's and branches' event counts (`within`), ms. */
  lookbackMs: number;
  /** Read profile rows from this UTC date on (default: the day before `since`, when the daily snapshot had every profile). */
  profilesSince?: string;
}

export interface HistoryLimits {
  events: number;
  profiles: number;
  sends: number;
}

/** Default row limits of the three reads: a simulation holds its history in memory. */
export const HISTORY_LIMITS: HistoryLimits = { events: 200_000, profiles: 400_000, sends: 200_000 };

/** How far back all-time event counts (`count` without `within`) are read: a year (docs/journeys.md#simulation). */
export const ALL_TIME_LOOKBACK_MS = 365 * 86_400_000;

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The track events a journey reacts to or counts: its trigger, exit, wait-until events, counted events, and coupon redemptions. */
export function historyEventNames(def: JourneyDef): string[] {
  const names = new Set<string>();
  if (def.trigger.type === 'event') names.add(def.trigger.event);
  if (def.exit?.type === 'event') names.add(def.exit.event);
  for (const { step } of walkSteps(def.steps)) if (step.type === 'waitUntil') names.add(step.event);
  for (const c of conditionsOf(def).flatMap(eventConditions)) names.add(c.event);
  if (walkSteps(def.steps).some(({ step }) => step.type === 'action' && step.action === 'coupon')) names.add(COUPONS.redeemEvent);
  return [...names].sort();
}

/** How far before the window the audience's and branches' event counts look (`within`; a year for all-time counts). */
export function lookbackOf(def: JourneyDef): number {
  let ms = 0;
  for (const c of conditionsOf(def).flatMap(eventConditions)) if (!c.since) ms = Math.max(ms, c.withinMs ?? ALL_TIME_LOOKBACK_MS);
  return ms;
}

export function eventsSql(def: JourneyDef, w: HistoryWindow, limit: number): string | null {
  const names = historyEventNames(def);
  if (!names.length) return null;
  return (
    'SELECT message_id, type, event, name, category, user_id, anonymous_id, group_id, previous_id, "timestamp", received_at, properties, traits, context, source_id ' +
    `FROM events WHERE dt >= ${lit(day(w.since - w.lookbackMs))} AND dt <= ${lit(day(w.until))} AND type = 'track' ` +
    `AND event IN (${names.map(lit).join(', ')}) ORDER BY received_at, message_id LIMIT ${limit + 1}`
  );
}

export function profilesSql(w: HistoryWindow, limit: number): string {
  const from = w.profilesSince ?? day(w.since - DAY_MS);
  return (
    'SELECT profile_id, identities, traits, computed, segments, consent, merged_from, merged_into, created_at, updated_at, snapshot_at ' +
    `FROM profiles WHERE dt >= ${lit(from)} AND dt <= ${lit(day(w.until))} ORDER BY updated_at, snapshot_at LIMIT ${limit + 1}`
  );
}

/**
 * The emails and SMS journeys sent from the longest cap window before `since` on (null: the policy caps
 * nothing). The simulated journey's own rows are read too: those before the window count (what it
 * really sent then), those in it are left out by readHistory (the simulation sends its own).
 */
export function sendsSql(policy: PolicyDef | null, w: HistoryWindow, limit: number): string | null {
  const windows = Object.values(policy?.channels ?? {}).flatMap((c) => (c?.cap ? [c.cap.perMs] : []));
  if (!windows.length) return null;
  const from = w.since - Math.max(...windows);
  return (
    'SELECT journey_id, run_id, profile_id, step_id, action, "at" FROM journey_steps ' +
    `WHERE dt >= ${lit(day(from))} AND dt <= ${lit(day(w.until))} AND outcome = 'sent' AND action IN ('email', 'sms') ` +
    `ORDER BY "at" LIMIT ${limit + 1}`
  );
}

const objects = (r: LakeRows): Record<string, unknown>[] => r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] ?? null])));

/** A JSON cell: engines give JSON columns as text (Athena, JSON stored as text) or as values (DuckDB). */
function json(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
const obj = (v: unknown): JsonObject => {
  const j = json(v);
  return isPlainObject(j) ? (j as JsonObject) : {};
};
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const time = (v: unknown): number => Date.parse(String(v ?? ''));
const iso = (v: unknown): string | undefined => {
  const t = time(v);
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
};

/** An `events` row as the message λ resolve published on the bus (camelCase, nested objects parsed). */
export function eventOfRow(r: Record<string, unknown>): HistoryEvent | null {
  const messageId = str(r.message_id);
  const timestamp = iso(r.timestamp);
  const receivedAt = time(r.received_at);
  if (!messageId || !timestamp || !Number.isFinite(receivedAt)) return null;
  const message: HistoryEvent['message'] = { messageId, type: String(r.type), timestamp, receivedAt: new Date(receivedAt).toISOString() };
  for (const [col, key] of [
    ['event', 'event'],
    ['name', 'name'],
    ['category', 'category'],
    ['user_id', 'userId'],
    ['anonymous_id', 'anonymousId'],
    ['group_id', 'groupId'],
    ['previous_id', 'previousId'],
    ['source_id', 'sourceId'],
  ] as const) {
    const v = str(r[col]);
    if (v !== undefined) message[key] = v;
  }
  message.properties = obj(r.properties);
  message.traits = obj(r.traits);
  message.context = obj(r.context);
  return { message, receivedAt };
}

const BUILT_IN = new Set(['first_seen', 'last_seen', 'event_count', 'order_count', 'revenue', 'last_channel']);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v) || 0);

/** A `profiles` row as the profile record λ journey would have read (what the row does not hold is left empty). */
export function profileOfRow(r: Record<string, unknown>): ProfileRow | null {
  const profileId = str(r.profile_id);
  const updatedAt = time(r.updated_at);
  if (!profileId || !Number.isFinite(updatedAt)) return null;
  const c = obj(r.computed);
  const computed: Computed = {
    first_seen: str(c.first_seen) ?? null,
    last_seen: str(c.last_seen) ?? null,
    event_count: num(c.event_count),
    order_count: num(c.order_count),
    revenue_e4: Math.round(num(c.revenue) * 1e4),
    last_channel: str(c.last_channel) ?? null,
    last_channel_k: null,
  };
  const extraComputed: Record<string, Json> = {};
  for (const [k, v] of Object.entries(c)) if (!BUILT_IN.has(k)) extraComputed[k] = v;
  const consent: Record<string, ConsentState> = {};
  for (const [k, v] of Object.entries(obj(r.consent))) {
    const g = v as { granted?: unknown; timestamp?: unknown; source?: unknown };
    consent[k] = { granted: g?.granted === true, timestamp: String(g?.timestamp ?? ''), source: String(g?.source ?? ''), k: '' };
  }
  const ids = json(r.identities);
  const segments = json(r.segments);
  const mergedFrom = json(r.merged_from);
  const at = new Date(updatedAt).toISOString();
  const record: ProfileRecord = {
    profileId,
    version: 1,
    createdAt: iso(r.created_at) ?? at,
    updatedAt: at,
    ...(str(r.merged_into) ? { mergedInto: str(r.merged_into)! } : {}),
    identities: Array.isArray(ids)
      ? ids.flatMap((i: { type?: unknown; value?: unknown }) =>
          typeof i?.type === 'string' && typeof i?.value === 'string' ? [{ type: i.type, value: i.value }] : [],
        )
      : [],
    traits: obj(r.traits),
    traitK: {},
    computed,
    consent,
    groups: [],
    mergedFrom: Array.isArray(mergedFrom) ? mergedFrom.filter((x): x is string => typeof x === 'string') : [],
    dd: { s: {}, r: [] },
    extra: { computed: extraComputed, segments: Array.isArray(segments) ? segments.filter((x): x is string => typeof x === 'string') : [] },
  };
  return { profileId, updatedAt, record };
}

function sendOfRow(r: Record<string, unknown>): PriorSend | null {
  const profileId = str(r.profile_id);
  const at = time(r.at);
  const channel = r.action === 'email' || r.action === 'sms' ? r.action : undefined;
  if (!profileId || !channel || !Number.isFinite(at)) return null;
  return { id: `${String(r.run_id)}#${String(r.step_id)}`, profileId, channel, journeyId: String(r.journey_id), at };
}

/** What the simulation needs to know of the other journeys: which of their steps are transactional (not counted by caps). */
export type TransactionalSteps = ReadonlySet<string>;
export const transactionalKey = (journeyId: string, stepId: string) => `${journeyId}#${stepId}`;

/** `journey#step` of every transactional email/SMS step of these journeys (their current documents). */
export function transactionalSteps(journeys: JourneyDef[]): TransactionalSteps {
  const out = new Set<string>();
  for (const j of journeys)
    for (const { step } of walkSteps(j.steps))
      if (step.type === 'action' && 'transactional' in step && step.transactional) out.add(transactionalKey(j.id, step.id));
  return out;
}

/**
 * Reads the history of `def` over `w` through `query` (three SELECTs). `transactional`: steps of other
 * journeys whose sends the caps do not count.
 */
export async function readHistory(
  query: LakeQuery,
  def: JourneyDef,
  policy: PolicyDef | null,
  w: HistoryWindow,
  o: { limits?: Partial<HistoryLimits>; transactional?: TransactionalSteps } = {},
): Promise<History> {
  const limits = { ...HISTORY_LIMITS, ...o.limits };
  const reads: History['reads'] = [];
  let complete = true;
  const read = async <T>(
    table: History['reads'][number]['table'],
    sql: string | null,
    limit: number,
    of: (r: Record<string, unknown>) => T | null,
  ): Promise<T[]> => {
    if (!sql) return [];
    const rows = objects(await query(sql));
    if (rows.length > limit) complete = false;
    const kept = rows.slice(0, limit);
    reads.push({ table, rows: kept.length, limit });
    return kept.map(of).filter((x): x is T => x !== null);
  };
  const events = await read('events', eventsSql(def, w, limits.events), limits.events, eventOfRow);
  const profiles = await read('profiles', profilesSql(w, limits.profiles), limits.profiles, profileOfRow);
  const sends = (await read('journey_steps', sendsSql(policy, w, limits.sends), limits.sends, sendOfRow)).filter(
    (s) => (s.journeyId !== def.id || s.at < w.since) && !o.transactional?.has(transactionalKey(s.journeyId, s.id.slice(s.id.indexOf('#') + 1))),
  );
  return { events, profiles, sends, complete, reads };
}
