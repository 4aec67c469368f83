/**
 * The coupons table (TABLES.coupons, pk only) behind CouponStore: every write is one conditional
 * PutItem or UpdateItem of one item (store.ts has the items and why).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../aws/clients';
import type { CodeItem, CouponStore, Holder, HolderRef, Issued, IssueItem, PoolItem, PoolStat, Redemption, SlotItem } from './store';

const isConditionFailure = (e: unknown) => e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';

const poolKey = (pool: string) => `pool#${pool}`;
const slotKey = (pool: string, position: number) => `slot#${pool}#${position}`;
const codeKey = (canonical: string) => `code#${canonical}`;
const issueKey = (runId: string, stepId: string) => `issue#${runId}#${stepId}`;
const statsKey = (pool: string) => `pool-stats#${pool}`;
const holderKey = (profileId: string) => `holder#${profileId}`;

/** The item without its key. */
function body<T>(item: Record<string, unknown> | undefined): T | null {
  if (!item) return null;
  const { pk: _pk, ...rest } = item;
  if (rest.againIds instanceof Set) rest.againIds = [...(rest.againIds as Set<string>)];
  return rest as T;
}

export class DynamoCouponStore implements CouponStore {
  constructor(readonly table: string) {}

  /** Follows the current `dynamodb()` client (a process may point its endpoints elsewhere). */
  private get doc(): DynamoDBDocumentClient {
    return documentClient();
  }

  private async get<T>(pk: string): Promise<T | null> {
    return body<T>((await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk }, ConsistentRead: true }))).Item);
  }

  /** Runs a conditional write: false when its condition failed. */
  private async conditional(write: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
    try {
      await this.doc.send(write as PutCommand);
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  getPool(pool: string) {
    return this.get<PoolItem>(poolKey(pool));
  }

  async takePosition(pool: string): Promise<PoolItem | null> {
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: poolKey(pool) },
          UpdateExpression: 'SET #taken = #taken + :one',
          ConditionExpression: 'attribute_exists(pk) AND #taken < #loaded',
          ExpressionAttributeNames: { '#taken': 'taken', '#loaded': 'loaded' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return body<PoolItem>(res.Attributes);
    } catch (e) {
      if (isConditionFailure(e)) return null;
      throw e;
    }
  }

  getSlot(pool: string, position: number) {
    return this.get<SlotItem>(slotKey(pool, position));
  }

  async putSlot(slot: SlotItem): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: slotKey(slot.pool, slot.position), ...slot } }));
  }

  getIssue(runId: string, stepId: string) {
    return this.get<IssueItem>(issueKey(runId, stepId));
  }

  putIssue(item: IssueItem) {
    return this.conditional(
      new PutCommand({ TableName: this.table, Item: { pk: issueKey(item.runId, item.stepId), ...item }, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
  }

  moveIssue(runId: string, stepId: string, from: number, to: Pick<IssueItem, 'position' | 'code' | 'canonical' | 'issuedAt'>) {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: issueKey(runId, stepId) },
        UpdateExpression: 'SET #position = :to, #code = :code, canonical = :canonical, issuedAt = :at',
        ConditionExpression: '#position = :from',
        ExpressionAttributeNames: { '#position': 'position', '#code': 'code' },
        ExpressionAttributeValues: { ':to': to.position, ':code': to.code, ':canonical': to.canonical, ':at': to.issuedAt, ':from': from },
      }),
    );
  }

  getCode(canonical: string) {
    return this.get<CodeItem>(codeKey(canonical));
  }

  putCode(item: CodeItem, expect: { pool: string; position: number } | null) {
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { pk: codeKey(item.canonical), ...item },
        ...(expect === null
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#pool = :pool AND #position = :position AND attribute_not_exists(issuedAt) AND attribute_not_exists(redeemedAt)',
              ExpressionAttributeNames: { '#pool': 'pool', '#position': 'position' },
              ExpressionAttributeValues: { ':pool': expect.pool, ':position': expect.position },
            }),
      }),
    );
  }

  markIssued(canonical: string, pool: string, position: number, to: Issued) {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: codeKey(canonical) },
        UpdateExpression: `SET journeyId = :j, stepId = :s, runId = :r, profileId = :p, issuedAt = :at${to.version !== undefined ? ', version = :v' : ''}`,
        ConditionExpression:
          '#pool = :pool AND #position = :position AND attribute_not_exists(redeemedAt) AND (attribute_not_exists(issuedAt) OR (runId = :r AND stepId = :s))',
        ExpressionAttributeNames: { '#pool': 'pool', '#position': 'position' },
        ExpressionAttributeValues: {
          ':pool': pool,
          ':position': position,
          ':j': to.journeyId,
          ':s': to.stepId,
          ':r': to.runId,
          ':p': to.profileId,
          ':at': to.issuedAt,
          ...(to.version !== undefined ? { ':v': to.version } : {}),
        },
      }),
    );
  }

  markRedeemed(canonical: string, journeyId: string, r: Redemption) {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: codeKey(canonical) },
        UpdateExpression: 'SET redeemedAt = :at, redeemMessageId = :m, redeemProfileId = :p',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(redeemedAt) AND (attribute_not_exists(journeyId) OR journeyId = :j)',
        ExpressionAttributeValues: { ':at': r.at, ':m': r.messageId, ':p': r.profileId, ':j': journeyId },
      }),
    );
  }

  markRedeemedAgain(canonical: string, r: Redemption) {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: codeKey(canonical) },
        UpdateExpression: 'ADD againIds :ids',
        ConditionExpression: 'attribute_exists(redeemedAt) AND redeemMessageId <> :m AND NOT contains(againIds, :m)',
        ExpressionAttributeValues: { ':ids': new Set([r.messageId]), ':m': r.messageId },
      }),
    );
  }

  async addPoolStats(pool: string, counters: Partial<Record<PoolStat, number>>): Promise<void> {
    const entries = Object.entries(counters).filter(([, n]) => n);
    if (!entries.length) return;
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const adds = entries.map(([k, n], i) => {
      names[`#c${i}`] = k;
      values[`:c${i}`] = n!;
      return `#c${i} :c${i}`;
    });
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: statsKey(pool) },
        UpdateExpression: `ADD ${adds.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async getPoolStats(pool: string): Promise<Partial<Record<PoolStat, number>>> {
    const item = await this.get<Record<string, unknown>>(statsKey(pool));
    const out: Partial<Record<PoolStat, number>> = {};
    for (const [k, v] of Object.entries(item ?? {})) if (typeof v === 'number') out[k as PoolStat] = v;
    return out;
  }

  async lease(pool: string, loadId: string, until: number, now: number, lowAt?: number): Promise<PoolItem | null> {
    const at = new Date(now).toISOString();
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: poolKey(pool) },
          UpdateExpression:
            'SET #pool = :pool, loadId = :id, loadUntil = :until, #loaded = if_not_exists(#loaded, :zero), #taken = if_not_exists(#taken, :zero), ' +
            `#gen = if_not_exists(#gen, :zero), createdAt = if_not_exists(createdAt, :at), updatedAt = :at${lowAt !== undefined ? ', lowAt = :lowAt' : ''}`,
          ConditionExpression: 'attribute_not_exists(loadId) OR loadUntil < :now',
          ExpressionAttributeNames: { '#pool': 'pool', '#loaded': 'loaded', '#taken': 'taken', '#gen': 'generated' },
          ExpressionAttributeValues: {
            ':pool': pool,
            ':id': loadId,
            ':until': until,
            ':zero': 0,
            ':at': at,
            ':now': now,
            ...(lowAt !== undefined ? { ':lowAt': lowAt } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return body<PoolItem>(res.Attributes);
    } catch (e) {
      if (isConditionFailure(e)) return null;
      throw e;
    }
  }

  commit(pool: string, loadId: string, from: number, to: number, generated: number, at: string) {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: poolKey(pool) },
        UpdateExpression: 'SET #loaded = :to, updatedAt = :at ADD #gen :g REMOVE loadId, loadUntil',
        ConditionExpression: 'loadId = :id AND #loaded = :from',
        ExpressionAttributeNames: { '#loaded': 'loaded', '#gen': 'generated' },
        ExpressionAttributeValues: { ':to': to, ':at': at, ':g': generated, ':id': loadId, ':from': from },
      }),
    );
  }

  async release(pool: string, loadId: string): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: poolKey(pool) },
        UpdateExpression: 'REMOVE loadId, loadUntil',
        ConditionExpression: 'loadId = :id',
        ExpressionAttributeValues: { ':id': loadId },
      }),
    );
  }

  async addHolder(profileId: string, ref: HolderRef): Promise<void> {
    // String sets: an issue as the JSON pair (run and step ids may hold any character), a code as its canonical form.
    const [attr, value] = 'issue' in ref ? ['issues', JSON.stringify([ref.issue.runId, ref.issue.stepId])] : ['redeemed', ref.redeemed];
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: holderKey(profileId) },
        UpdateExpression: 'ADD #refs :ref',
        ExpressionAttributeNames: { '#refs': attr },
        ExpressionAttributeValues: { ':ref': new Set([value]) },
      }),
    );
  }

  async getHolder(profileId: string): Promise<Holder | null> {
    const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: holderKey(profileId) }, ConsistentRead: true }))).Item;
    if (!item) return null;
    const list = (v: unknown) => (v instanceof Set ? [...(v as Set<string>)] : []);
    return {
      issues: list(item.issues).map((s) => {
        const [runId, stepId] = JSON.parse(s) as [string, string];
        return { runId, stepId };
      }),
      redeemed: list(item.redeemed),
    };
  }

  async deleteHolder(profileId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: holderKey(profileId) } }));
  }

  deleteIssue(runId: string, stepId: string, profileId: string) {
    return this.conditional(
      new DeleteCommand({
        TableName: this.table,
        Key: { pk: issueKey(runId, stepId) },
        ConditionExpression: 'profileId = :p',
        ExpressionAttributeValues: { ':p': profileId },
      }),
    );
  }

  async forgetProfile(canonical: string, profileId: string): Promise<number> {
    let n = 0;
    for (const attr of ['profileId', 'redeemProfileId']) {
      const removed = await this.conditional(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: codeKey(canonical) },
          UpdateExpression: 'REMOVE #a',
          ConditionExpression: '#a = :p',
          ExpressionAttributeNames: { '#a': attr },
          ExpressionAttributeValues: { ':p': profileId },
        }),
      );
      if (removed) n++;
    }
    return n;
  }
}
