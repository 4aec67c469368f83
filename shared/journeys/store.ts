/**
 * Journey state in DynamoDB (`TABLES.journeys`, pk only):
 *
 * - `run#<journeyId>#<profileId>`: one person's state in one journey (PersonState as deflated JSON in
 *   `z`, state-item.ts; `data` on items written before; `version` for optimistic concurrency: every
 *   write is conditional on the version read).
 * - `action#<runId>#<stepId>`: the action ledger. An action is claimed with a conditional put
 *   BEFORE it is sent (`status: sending`) and marked `sent` / `failed` after; `skipped` ones are
 *   recorded directly. Items expire after LEDGER_TTL_DAYS.
 * - `stats#<journeyId>#v<version>#<n>` (n in 0..JOURNEYS.statsShards-1): the counters of one journey
 *   version, added with atomic ADD only after the transition that causes them was written (a retry
 *   whose write fails the condition adds nothing), to the shard of the person (`statsShard(profileId)`:
 *   stable, so a person's updates always hit the same item). Sharded so that a journey entered by many
 *   people at once is not one hot item (docs/deploy.md#known-limits-single-hot-items). Counted before
 *   versions (read, never written since): `stats#<journeyId>#<n>` and, before the shards,
 *   `stats#<journeyId>` — the reader's version 0.
 */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGet } from '../aws/batch';
import { documentClient } from '../aws/clients';
import { JOURNEYS } from '../config';
import type { PersonState } from './machine';
import { packState, stateOfItem } from './state-item';

export const LEDGER_TTL_DAYS = 90;

export type LedgerStatus = 'sending' | 'sent' | 'failed' | 'skipped';
export interface LedgerItem {
  runId: string;
  stepId: string;
  action: string;
  status: LedgerStatus;
  claimedAt: string;
  doneAt?: string;
  /** Why it failed or was skipped (`no_consent`, `no_address`, `http_500`, …). */
  reason?: string;
  attempts?: number;
  /** Provider message id (SES/SNS) or HTTP status (webhook). */
  result?: string;
}

export interface JourneyStore {
  getState(journeyId: string, profileId: string): Promise<PersonState | null>;
  /** Writes `state` (its `version` is the new one) iff the stored version is `expected` (0: absent). */
  putState(state: PersonState, expected: number): Promise<boolean>;
  /** Claims an action; false when it was already claimed. */
  claim(item: LedgerItem): Promise<boolean>;
  getLedger(runId: string, stepId: string): Promise<LedgerItem | null>;
  /** Moves a claimed action from `sending` to its outcome; false when it was not `sending`. */
  settle(
    runId: string,
    stepId: string,
    outcome: { status: 'sent' | 'failed' | 'skipped'; reason?: string; attempts?: number; result?: string },
  ): Promise<boolean>;
  /** Adds `counters` to the stats shard of `shardKey` (the person's profile id) of journey version `version` (absent: before versions, tests). */
  addStats(journeyId: string, counters: Record<string, number>, shardKey: string, version?: number): Promise<void>;
  /**
   * The journey's counters per version, each summed over its shards: every version of `versions`, and
   * 0 for what was counted before versions (the unversioned shards and the unsharded item).
   */
  getStats(journeyId: string, versions?: number[]): Promise<Map<number, Record<string, number>>>;
}

const isConditionFailure = (e: unknown) => e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

const runKey = (journeyId: string, profileId: string) => `run#${journeyId}#${profileId}`;
const actionKey = (runId: string, stepId: string) => `action#${runId}#${stepId}`;
/** The unsharded counter item (written before the counters were sharded; read, never written). */
const legacyStatsKey = (journeyId: string) => `stats#${journeyId}`;
/** A counter shard of a journey version (`version` absent: the shards written before versions). */
export const statsKey = (journeyId: string, shard: number, version?: number) =>
  version === undefined ? `stats#${journeyId}#${shard}` : `stats#${journeyId}#v${version}#${shard}`;

/** Every counter item of the journey's `versions` and of before versions (0), by the version they sum into. */
export function statsKeys(journeyId: string, versions: number[], shards: number = JOURNEYS.statsShards): Map<string, number> {
  const out = new Map<string, number>([[legacyStatsKey(journeyId), 0]]);
  for (let n = 0; n < shards; n++) out.set(statsKey(journeyId, n), 0);
  for (const v of versions) for (let n = 0; n < shards; n++) out.set(statsKey(journeyId, n, v), v);
  return out;
}

/** Stats shard of a person (0..shards-1): a stable hash of the key, the same in every process. */
export function statsShard(shardKey: string, shards: number = JOURNEYS.statsShards): number {
  return createHash('sha256').update(shardKey).digest().readUInt32BE(0) % shards;
}

/** Adds the numeric attributes of `item` into `out` (the key and other non-numbers are skipped). */
export function sumCounters(out: Record<string, number>, item: Record<string, unknown> | undefined): Record<string, number> {
  for (const [k, v] of Object.entries(item ?? {})) if (typeof v === 'number') out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The counters of every version of a `getStats` answer, summed. */
export function sumStats(byVersion: Map<number, Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of byVersion.values()) sumCounters(out, item);
  return out;
}

/** Attribute name of a per-step counter in the stats item. */
export const stepStat = (stepId: string, what: 'sent' | 'failed' | 'skipped') => `step#${stepId}#${what}`;

export class DynamoJourneyStore implements JourneyStore {
  constructor(readonly table: string) {}

  /** Follows the current `dynamodb()` client (a process may point its endpoints elsewhere). */
  private get doc(): DynamoDBDocumentClient {
    return documentClient();
  }

  async getState(journeyId: string, profileId: string): Promise<PersonState | null> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: runKey(journeyId, profileId) }, ConsistentRead: true }));
    if (!res.Item) return null;
    return { ...stateOfItem(res.Item), version: Number(res.Item.version) };
  }

  async putState(state: PersonState, expected: number): Promise<boolean> {
    const { version, ...body } = state;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: runKey(state.journeyId, state.profileId),
            journeyId: state.journeyId,
            profileId: state.profileId,
            version,
            status: state.run?.status ?? 'none',
            z: packState(body),
          },
          ConditionExpression: expected === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
          ...(expected === 0 ? {} : { ExpressionAttributeValues: { ':v': expected } }),
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async claim(item: LedgerItem): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: actionKey(item.runId, item.stepId), ...item, expiresAt: Math.floor(Date.now() / 1000) + LEDGER_TTL_DAYS * 86_400 },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async getLedger(runId: string, stepId: string): Promise<LedgerItem | null> {
    const res = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: actionKey(runId, stepId) }, ConsistentRead: true }));
    if (!res.Item) return null;
    const { pk: _pk, expiresAt: _e, ...rest } = res.Item;
    return rest as LedgerItem;
  }

  async settle(
    runId: string,
    stepId: string,
    o: { status: 'sent' | 'failed' | 'skipped'; reason?: string; attempts?: number; result?: string },
  ): Promise<boolean> {
    const sets = ['#s = :s', 'doneAt = :d'];
    const values: Record<string, unknown> = { ':s': o.status, ':d': new Date().toISOString(), ':sending': 'sending' };
    if (o.reason !== undefined) sets.push('reason = :r'), (values[':r'] = o.reason);
    if (o.attempts !== undefined) sets.push('attempts = :a'), (values[':a'] = o.attempts);
    if (o.result !== undefined) sets.push('#res = :res'), (values[':res'] = o.result);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: actionKey(runId, stepId) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#s = :sending',
          ExpressionAttributeNames: { '#s': 'status', ...(o.result !== undefined ? { '#res': 'result' } : {}) },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async addStats(journeyId: string, counters: Record<string, number>, shardKey: string, version?: number): Promise<void> {
    const entries = Object.entries(counters).filter(([, n]) => n !== 0);
    if (!entries.length) return;
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const adds = entries.map(([k, n], i) => {
      names[`#c${i}`] = k;
      values[`:c${i}`] = n;
      return `#c${i} :c${i}`;
    });
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: statsKey(journeyId, statsShard(shardKey), version) },
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async getStats(journeyId: string, versions: number[] = []): Promise<Map<number, Record<string, number>>> {
    // (shards + 1) × versions + shards + 1 items, a BatchGetItem per 100 (an admin request).
    const keys = statsKeys(journeyId, versions);
    const { items, unprocessed } = await batchGet<Record<string, unknown>, Record<string, unknown>>(
      async (RequestItems) => this.doc.send(new BatchGetCommand({ RequestItems })),
      { [this.table]: { Keys: [...keys.keys()].map((pk) => ({ pk })), ConsistentRead: true } },
    );
    if (Object.values(unprocessed).some((k) => k.length)) throw new Error(`journey ${journeyId}: counters could not be read; retry`);
    const out = new Map<number, Record<string, number>>([[0, {}], ...versions.map((v): [number, Record<string, number>] => [v, {}])]);
    for (const item of items[this.table] ?? []) sumCounters(out.get(keys.get(String(item.pk))!)!, item);
    return out;
  }
}
