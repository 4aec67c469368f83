/**
 * The IdentityStore on DynamoDB: identities table (`pk` = `id#<type>:<value>`), profiles table
 * (`pk` = `profile#<id>` | `group#<id>`), timeline table (`profileId`, `sk`). Single-item conditional
 * writes only (no transactions). Every call asks for ReturnConsumedCapacity TOTAL; units are added to
 * the request counters as `identity.rcu` / `identity.wcu` (bench) and to `capacity` below.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchExecuteStatementCommand,
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { batchGet, batchWrite, countItems, insertStatement, type DocWriteRequest } from '../aws/batch';
import { countRequest, documentClient } from '../aws/clients';
import { deflatedJson } from '../deflated';
import { packTimelineData, timelineDataOf } from './timeline-item';
import { timelineDays } from '../config';
import { lakeIndexItem, TIMELINE_SK_BOUND } from './lake-index';
import type { GroupRecord, IdentityItem, IdentityStore, LakeIndexEntry, ProfileRecord, ReadRequest, ReadResult, ShardMarker, TimelineItem } from './types';

export interface DynamoTables {
  identities: string;
  profiles: string;
  timeline: string;
}
/** Capacity units this process consumed through identity stores (reads and writes separately). */
export const capacity = { rcu: 0, wcu: 0, byOp: {} as Record<string, number> };
export function resetCapacity(): void {
  capacity.rcu = 0;
  capacity.wcu = 0;
  capacity.byOp = {};
}
type CC = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number } | undefined;
function account(kind: 'r' | 'w', cc: CC | CC[], op: string): void {
  let n = 0;
  for (const c of Array.isArray(cc) ? cc : [cc]) {
    if (!c) continue;
    n += (kind === 'r' ? c.ReadCapacityUnits : c.WriteCapacityUnits) || c.CapacityUnits || 0;
  }
  capacity.byOp[op] = (capacity.byOp[op] ?? 0) + n;
  if (kind === 'r') capacity.rcu += n;
  else capacity.wcu += n;
  countRequest(kind === 'r' ? 'identity.rcu' : 'identity.wcu', n);
}

const ID = 'id#';
const PROFILE = 'profile#';

/**
 * The part of a Scan of the profiles table that keeps live profiles only (not merged away; not
 * groups, markers or other items). DynamoDB still counts read units for every item scanned; the
 * filter trims the transfer. Used by every full-table pass (snapshot, scores, recheck sweeps).
 */
export const LIVE_PROFILES_FILTER = {
  FilterExpression: 'begins_with(pk, :p) AND attribute_not_exists(mergedInto)',
  ExpressionAttributeValues: { ':p': PROFILE },
} as const;

/** Whether a scanned item is a live profile (the same test as LIVE_PROFILES_FILTER). */
export const isLiveProfileItem = (item: Record<string, unknown>): boolean => String(item.pk).startsWith(PROFILE) && !item.mergedInto;
const GROUP = 'group#';
const SHARD = 'shard#';
const CORE = new Set(['pk', 'profileId', 'version', 'createdAt', 'updatedAt', 'mergedInto', 'data', 'z']);
/** Unprocessed batch items: backoff 20 ms · 2^round with full jitter, at most 1 s. */
const STORE_RETRY = { baseMs: 20, capMs: 1000 } as const;
/** Statements per BatchExecuteStatement (DynamoDB's limit), and such requests in flight per call. */
const STATEMENTS_PER_BATCH = 25;
const BATCHES_IN_FLIGHT = 4;
const isConditionFailure = (e: unknown) => e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

/**
 * A profile item keeps what conditions and filters read as attributes (`pk`, `profileId`, `version`,
 * the timestamps, `mergedInto`) and the rest — the record's body and the stages' `extra` — as one
 * deflated JSON document in `z` (first byte: the format). DynamoDB bills a write per started KB of
 * the item: a profile with segment state is 2–3 KB of JSON and about a third of that deflated
 * (docs/cost.md). Items written before (`data` and top-level extras) are still read.
 */
/** Preset dictionary of format 1: names and fragments every profile repeats (never change it; add a format instead). */
const PROFILE_BODY = deflatedJson(
  1,
  '{"b":{"identities":[],"traits":{},"traitK":{},"consent":{},"groups":[],"mergedFrom":[],"merges":[],"sessions":[],"dd":{"s":{"shardId-000000000000":{"t":,"c":[],"p":[]}},"r":[]},' +
    '"computed":{"first_seen":"","last_seen":"","event_count":0,"order_count":0,"revenue_e4":0,"last_channel":null,"last_channel_k":null}},' +
    '"x":{"computed":{},"segments":[],"cstate":"{\\"w\\":,\\"b\\":[[","segPub":"{\\"s\\":[],\\"r\\":null}","recheckAt":,"segInh":""}}' +
    '{"type":"user_id","value":"},{"type":"anonymous_id","value":"},{"type":"email","value":"@gmail.com"},{"type":"phone","value":"+1"},{"type":"crm_id","value":"' +
    '"granted":true,"timestamp":"2026-","source":"context.consent","k":"T00:00:00.000Z#"',
);

export function profileToItem(p: ProfileRecord): Record<string, unknown> {
  const { profileId, version, createdAt, updatedAt, mergedInto, extra, ...body } = p;
  return {
    pk: PROFILE + profileId,
    profileId,
    version,
    createdAt,
    updatedAt,
    ...(mergedInto ? { mergedInto } : {}),
    z: PROFILE_BODY.pack({ b: body, ...(extra && Object.keys(extra).length ? { x: extra } : {}) }),
  };
}

/** The body and extras of an item, from `z` or (items written before it) `data` and the other attributes. */
function profileParts(item: Record<string, unknown>): {
  body: Partial<Omit<ProfileRecord, 'profileId' | 'version' | 'createdAt' | 'updatedAt'>>;
  extra: Record<string, unknown>;
} {
  const z = item.z;
  if (z instanceof Uint8Array) {
    const doc = PROFILE_BODY.unpack<{ b?: object; x?: Record<string, unknown> }>(z, `profile ${String(item.profileId)}`);
    return { body: doc.b ?? {}, extra: doc.x ?? {} };
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!CORE.has(k)) extra[k] = v;
  return { body: JSON.parse(String(item.data ?? '{}')), extra };
}

export function profileFromItem(item: Record<string, unknown>): ProfileRecord {
  const { body, extra } = profileParts(item);
  return {
    identities: [],
    traits: {},
    traitK: {},
    consent: {},
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
    ...body,
    computed: { first_seen: null, last_seen: null, event_count: 0, order_count: 0, revenue_e4: 0, last_channel: null, last_channel_k: null, ...body.computed },
    profileId: String(item.profileId),
    version: Number(item.version),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    ...(item.mergedInto ? { mergedInto: String(item.mergedInto) } : {}),
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}

function groupToItem(g: GroupRecord): Record<string, unknown> {
  return {
    pk: GROUP + g.groupId,
    groupId: g.groupId,
    version: g.version,
    createdAt: g.createdAt,
    updatedAt: g.updatedAt,
    data: JSON.stringify({ traits: g.traits, traitK: g.traitK }),
  };
}
function groupFromItem(item: Record<string, unknown>): GroupRecord {
  const body = JSON.parse(String(item.data ?? '{}')) as { traits?: GroupRecord['traits']; traitK?: GroupRecord['traitK'] };
  return {
    groupId: String(item.groupId),
    version: Number(item.version),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
    traits: body.traits ?? {},
    traitK: body.traitK ?? {},
  };
}

/** Epoch seconds at which a timeline item of an event at `timestamp` expires (DynamoDB TTL): event time + `days`. */
export function timelineExpiry(timestamp: string, days = timelineDays()): number {
  const t = Date.parse(timestamp);
  return Math.floor((Number.isNaN(t) ? Date.now() : t) / 1000) + days * 86_400;
}

function timelineToItem(t: TimelineItem): Record<string, unknown> {
  const { profileId, sk, lakeKeys, ...rest } = t;
  // Kept for the retention from the later of event time and arrival: the lake partitions by arrival,
  // and the erasure trusts these items' lake keys for every partition younger than the retention.
  // biome-ignore lint/complexity/useMathMinMax: ISO-8601 strings, ordered as text (Math.max would give NaN)
  const from = t.receivedAt > t.timestamp ? t.receivedAt : t.timestamp;
  return { profileId, sk, z: packTimelineData(sk, rest), expiresAt: timelineExpiry(from), ...(lakeKeys?.length ? { lk: lakeKeys } : {}) };
}
export function timelineFromItem(item: Record<string, unknown>): TimelineItem {
  const lk = item.lk instanceof Set ? [...item.lk] : item.lk;
  return {
    ...timelineDataOf(item),
    profileId: String(item.profileId),
    sk: String(item.sk),
    ...(Array.isArray(lk) && lk.length ? { lakeKeys: lk.map(String) } : {}),
  };
}

/** Intent as compact JSON: profile ids listed once, messages point at them by index. */
export function packIntent(intent: Record<string, string[]>): string {
  const ids: string[] = [];
  const index = new Map<string, number>();
  const m: Record<string, number[]> = {};
  for (const [h, ps] of Object.entries(intent)) {
    m[h] = ps.map((p) => {
      let i = index.get(p);
      if (i === undefined) index.set(p, (i = ids.push(p) - 1));
      return i;
    });
  }
  return JSON.stringify({ p: ids, m });
}
/** The marker's recent window as compact JSON (profile ids listed once). */
export function packRecent(recent: [string, string][]): string {
  const ids: string[] = [];
  const index = new Map<string, number>();
  const m = recent.map(([h, p]) => {
    let i = index.get(p);
    if (i === undefined) index.set(p, (i = ids.push(p) - 1));
    return [h, i] as const;
  });
  return JSON.stringify({ p: ids, m });
}
export function unpackRecent(text: string): [string, string][] {
  const { p, m } = JSON.parse(text) as { p: string[]; m: [string, number][] };
  return m.map(([h, i]) => [h, p[i]!]);
}
export function unpackIntent(text: string): Record<string, string[]> {
  const { p, m } = JSON.parse(text) as { p: string[]; m: Record<string, number[]> };
  const out: Record<string, string[]> = {};
  for (const [h, is] of Object.entries(m)) out[h] = is.map((i) => p[i]!);
  return out;
}

async function pmapAll<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]!);
    }),
  );
}

export class DynamoStore implements IdentityStore {
  constructor(readonly tables: DynamoTables) {}

  /** Built from the current `dynamodb()` client, so a process that points its endpoints elsewhere (a second local stack) follows. */
  get doc(): DynamoDBDocumentClient {
    return documentClient();
  }

  async read(req: ReadRequest, consistent: boolean): Promise<ReadResult> {
    const out: ReadResult = { identities: new Map(), profiles: new Map(), groups: new Map(), markers: new Map() };
    const request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> = {};
    const want = (table: string, pks: Iterable<string>) => {
      for (const pk of pks) (request[table] ??= { Keys: [], ConsistentRead: consistent }).Keys.push({ pk });
    };
    want(
      this.tables.identities,
      [...new Set(req.identities ?? [])].map((k) => ID + k),
    );
    want(this.tables.profiles, [
      ...[...new Set(req.profiles ?? [])].map((k) => PROFILE + k),
      ...[...new Set(req.groups ?? [])].map((k) => GROUP + k),
      ...[...new Set(req.markers ?? [])].map((k) => SHARD + k),
    ]);
    const { items, unprocessed } = await batchGet<Record<string, unknown>, Record<string, unknown>>(
      async (RequestItems) => {
        const res = await this.doc.send(new BatchGetCommand({ RequestItems, ReturnConsumedCapacity: 'TOTAL' }));
        account('r', res.ConsumedCapacity, 'BatchGetItem');
        return res;
      },
      request,
      { ...STORE_RETRY, maxRounds: 22 },
    );
    if (countItems(unprocessed)) throw new Error('BatchGetItem: unprocessed keys after 20 attempts');
    for (const list of Object.values(items)) {
      for (const item of list) {
        const pk = String(item.pk);
        if (pk.startsWith(ID)) {
          const key = pk.slice(ID.length);
          out.identities.set(key, {
            key,
            profileId: String(item.profileId),
            cnt: Number(item.cnt ?? 0),
            ...(item.blocked === true ? { blocked: true } : {}),
          } satisfies IdentityItem);
        } else if (pk.startsWith(PROFILE)) out.profiles.set(String(item.profileId), profileFromItem(item));
        else if (pk.startsWith(GROUP)) out.groups.set(String(item.groupId), groupFromItem(item));
        else if (pk.startsWith(SHARD)) {
          const shardId = pk.slice(SHARD.length);
          out.markers!.set(shardId, {
            shardId,
            f: String(item.f),
            last: String(item.last ?? item.f),
            ...(item.intent ? { intent: unpackIntent(String(item.intent)) } : {}),
            ...(item.recent ? { recent: unpackRecent(String(item.recent)) } : {}),
          });
        }
      }
    }
    return out;
  }

  async claimIdentity(key: string, to: string, from: string | null): Promise<boolean> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.identities,
          Key: { pk: ID + key },
          UpdateExpression: 'SET profileId = :to',
          ConditionExpression: from === null ? 'attribute_not_exists(pk) OR profileId = :to' : 'profileId = :to OR profileId = :from',
          ExpressionAttributeValues: from === null ? { ':to': to } : { ':to': to, ':from': from },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      account('w', res.ConsumedCapacity, 'UpdateItem:claim');
      return true;
    } catch (e) {
      if (isConditionFailure(e)) {
        account('w', { CapacityUnits: 1 }, 'UpdateItem:claim');
        return false;
      }
      throw e;
    }
  }

  async addIdentityCount(key: string, n: number): Promise<void> {
    await this.updateExistingIdentity(key, 'ADD cnt :v', n, 'UpdateItem:count');
  }

  /** One update of an identity item that exists (false when it does not: nothing is created). */
  private async updateExistingIdentity(key: string, update: string, value: unknown, label: string): Promise<boolean> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tables.identities,
          Key: { pk: ID + key },
          UpdateExpression: update,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':v': value },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      account('w', res.ConsumedCapacity, label);
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  private async conditionalPut(item: Record<string, unknown>, expected: number | null): Promise<boolean> {
    try {
      const res = await this.doc.send(
        new PutCommand({
          TableName: this.tables.profiles,
          Item: item,
          ConditionExpression: expected === null ? 'attribute_not_exists(pk)' : 'version = :v',
          ...(expected === null ? {} : { ExpressionAttributeValues: { ':v': expected } }),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      account('w', res.ConsumedCapacity, 'PutItem:profile');
      return true;
    } catch (e) {
      if (isConditionFailure(e)) {
        account('w', { CapacityUnits: 1 }, 'PutItem:profile');
        return false;
      }
      throw e;
    }
  }

  putProfile(rec: ProfileRecord, expected: number | null): Promise<boolean> {
    return this.conditionalPut(profileToItem(rec), expected);
  }

  /** `putProfile(rec, null)` for each, INSERTs 25 to a request; a statement that failed otherwise than as a duplicate is retried as that single write. */
  async createProfiles(recs: ProfileRecord[]): Promise<boolean[]> {
    const res = await this.insertAll(this.tables.profiles, recs.map(profileToItem), 'profile');
    return Promise.all(res.map((r, i) => r ?? this.putProfile(recs[i]!, null)));
  }

  /**
   * `claimIdentity(key, to, null)` for each (keys distinct), INSERTs 25 to a request. An INSERT fails
   * on any existing item, so those (and statements that failed otherwise) get the single conditional
   * update, which also succeeds where the item already points at `to` (a retry).
   */
  async claimNewIdentities(claims: { key: string; to: string }[]): Promise<boolean[]> {
    const res = await this.insertAll(
      this.tables.identities,
      claims.map((c) => ({ pk: ID + c.key, profileId: c.to })),
      'claim',
    );
    return Promise.all(res.map((r, i) => (r === true ? true : this.claimIdentity(claims[i]!.key, claims[i]!.to, null))));
  }

  /**
   * PartiQL INSERTs (create only if absent; DynamoDB answers each statement on its own, at single-write
   * units): true inserted, false an item with that key exists (`DuplicateItem`), undefined any other
   * statement error (throttling…): the caller decides with a single write.
   */
  private async insertAll(table: string, items: Record<string, unknown>[], label: string): Promise<(boolean | undefined)[]> {
    const out = new Array<boolean | undefined>(items.length);
    const chunks: number[][] = [];
    for (let i = 0; i < items.length; i += STATEMENTS_PER_BATCH)
      chunks.push(Array.from({ length: Math.min(STATEMENTS_PER_BATCH, items.length - i) }, (_, j) => i + j));
    await pmapAll(chunks, BATCHES_IN_FLIGHT, async (idx) => {
      const res = await this.doc.send(
        new BatchExecuteStatementCommand({
          Statements: idx.map((i) => insertStatement(table, items[i]!)),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      account('w', res.ConsumedCapacity, `BatchExecuteStatement:${label}`);
      idx.forEach((i, j) => {
        const e = res.Responses?.[j]?.Error;
        out[i] = !e ? true : e.Code === 'DuplicateItem' ? false : undefined;
      });
    });
    return out;
  }
  putGroup(rec: GroupRecord, expected: number | null): Promise<boolean> {
    return this.conditionalPut(groupToItem(rec), expected);
  }

  async putTimeline(items: TimelineItem[], index: LakeIndexEntry[] = []): Promise<void> {
    // One item per (profile, sk): a duplicate in the same request would be rejected by BatchWriteItem.
    const uniq = new Map<string, Record<string, unknown>>();
    for (const t of items) uniq.set(`${t.profileId}\u0000${t.sk}`, timelineToItem(t));
    // The lake index items go in the same requests (no expiry: docs/privacy.md).
    for (const e of index) {
      const it = lakeIndexItem(e);
      uniq.set(`${it.profileId}\u0000${it.sk}`, it);
    }
    const left = await batchWrite<DocWriteRequest>(
      async (RequestItems) => {
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems, ReturnConsumedCapacity: 'TOTAL' }));
        account('w', res.ConsumedCapacity, 'BatchWriteItem:timeline');
        return res;
      },
      { [this.tables.timeline]: [...uniq.values()].map((Item) => ({ PutRequest: { Item } })) },
      { ...STORE_RETRY, maxRounds: 21 },
    );
    if (countItems(left)) throw new Error('BatchWriteItem: unprocessed items after 20 attempts');
  }

  async blockIdentity(key: string): Promise<boolean> {
    return this.updateExistingIdentity(key, 'SET blocked = :v', true, 'UpdateItem:block');
  }

  async deleteTimeline(items: { profileId: string; sk: string }[]): Promise<void> {
    const left = await batchWrite<DocWriteRequest>(
      async (RequestItems) => {
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems, ReturnConsumedCapacity: 'TOTAL' }));
        account('w', res.ConsumedCapacity, 'BatchWriteItem:timeline');
        return res;
      },
      { [this.tables.timeline]: items.map((t) => ({ DeleteRequest: { Key: { profileId: t.profileId, sk: t.sk } } })) },
      { ...STORE_RETRY, maxRounds: 21 },
    );
    if (countItems(left)) throw new Error('BatchWriteItem: unprocessed items after 20 attempts');
  }

  async putMarker(m: ShardMarker): Promise<void> {
    const res = await this.doc.send(
      new PutCommand({
        TableName: this.tables.profiles,
        Item: {
          pk: SHARD + m.shardId,
          f: m.f,
          last: m.last,
          ...(m.intent ? { intent: packIntent(m.intent) } : {}),
          ...(m.recent?.length ? { recent: packRecent(m.recent) } : {}),
        },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    account('w', res.ConsumedCapacity, 'PutItem:marker');
  }

  async queryTimeline(profileId: string, opts: { limit: number; before?: string }): Promise<TimelineItem[]> {
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.tables.timeline,
        // Events only: lake index items sort after every event (shared/identity/lake-index.ts).
        KeyConditionExpression: 'profileId = :p AND sk < :b',
        ExpressionAttributeValues: { ':p': profileId, ':b': opts.before !== undefined && opts.before < TIMELINE_SK_BOUND ? opts.before : TIMELINE_SK_BOUND },
        ScanIndexForward: false,
        Limit: opts.limit,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    account('r', res.ConsumedCapacity, 'Query:timeline');
    return (res.Items ?? []).map(timelineFromItem);
  }
}
