/**
 * Journey versions in the definitions table (docs/journeys.md#versions):
 *
 * - `journey#<id>`, the head: the current version's document (`source`, `version`, as every
 *   definition) plus `status` (active, paused, archived, deleted), `hash` (versions.ts contentHash),
 *   `lifecycle` (JSON: endedThrough, migrations, pausedMs, pausedAt) and `rev`, which every head write
 *   increments and is conditional on (a PUT and a pause racing: the loser gets a conflict, never a
 *   silent overwrite);
 * - `journey#<id>#v<n>`: version n, immutable: `source`, `hash`, `appliedAt`, `pausedMsBefore`
 *   (the journey's paused time when it was applied) and `versionOf` (which keeps these items out of
 *   listings).
 *
 * No transactions (dynalite has none): the head is written first and is the authority for the current
 * version; its version item follows. A crash between the two leaves the current version readable from
 * the head, and the next apply writes the missing item (`attribute_not_exists`) before moving the head,
 * so every earlier version always has its item.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchGet } from '../aws/batch';
import { documentClient as doc } from '../aws/clients';
import { CairnError } from '../errors';
import { validateDefinition } from './schema';
import { bumpDefinitionsRevision, definitionKey } from './store';
import type { JourneyDef, JsonObject } from './types';
import { activeLifecycle, contentHash, type JourneyLifecycle, type JourneyStatus } from './versions';

/** The head of a journey as stored (deleted ones included). */
export interface JourneyHead {
  id: string;
  definition: JourneyDef;
  version: number;
  updatedAt: string;
  status: JourneyStatus | 'deleted';
  hash: string;
  lifecycle: JourneyLifecycle;
  /** Head revision (0: written before revisions existed). */
  rev: number;
}

/** One version of a journey. */
export interface JourneyVersion {
  id: string;
  version: number;
  definition: JourneyDef;
  hash: string;
  appliedAt: string;
  /** The journey's paused time (ms) when this version was applied. */
  pausedMsBefore: number;
}

const headKey = (id: string) => definitionKey('journey', id);
export const versionKey = (id: string, version: number) => `${headKey(id)}#v${version}`;

const isConditionFailure = (e: unknown) => e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException';
const parse = (source: unknown, id: string): JourneyDef => {
  const def = validateDefinition(JSON.parse(String(source)), { file: `stored journey ${id}`, index: 0 });
  if (def.kind !== 'journey') throw new CairnError('invalid_definition', `stored journey ${id} is a ${def.kind}`, 500);
  return def;
};

function headOf(item: Record<string, unknown>): JourneyHead {
  const id = String(item.id);
  const version = Number(item.version ?? 1);
  const definition = parse(item.source, id);
  const stored = item.lifecycle ? (JSON.parse(String(item.lifecycle)) as Partial<JourneyLifecycle>) : {};
  const status = (item.status as JourneyHead['status'] | undefined) ?? 'active';
  return {
    id,
    definition,
    version,
    updatedAt: String(item.updatedAt ?? ''),
    status,
    hash: typeof item.hash === 'string' ? item.hash : contentHash(definition.source),
    lifecycle: { ...activeLifecycle(version), ...stored, version, status: status === 'deleted' ? 'archived' : status },
    rev: Number(item.rev ?? 0),
  };
}

function versionOf(item: Record<string, unknown>): JourneyVersion {
  const id = String(item.id);
  const definition = parse(item.source, id);
  return {
    id,
    version: Number(item.version),
    definition,
    hash: typeof item.hash === 'string' ? item.hash : contentHash(definition.source),
    appliedAt: String(item.appliedAt ?? ''),
    pausedMsBefore: Number(item.pausedMsBefore ?? 0),
  };
}

/** The journey's head, deleted or not; null when it was never applied. */
export async function getJourneyHead(table: string, id: string): Promise<JourneyHead | null> {
  const res = await doc().send(new GetCommand({ TableName: table, Key: { pk: headKey(id) }, ConsistentRead: true }));
  return res.Item ? headOf(res.Item) : null;
}

/** The current version as a version (its item may not be written yet: see the header). */
const currentOf = (h: JourneyHead): JourneyVersion => ({
  id: h.id,
  version: h.version,
  definition: h.definition,
  hash: h.hash,
  appliedAt: h.updatedAt,
  pausedMsBefore: 0,
});

/** Version `n` of the journey, or null (`head`: when already read, saves reading it for the current version). */
export async function getJourneyVersion(table: string, id: string, n: number, head?: JourneyHead | null): Promise<JourneyVersion | null> {
  const res = await doc().send(new GetCommand({ TableName: table, Key: { pk: versionKey(id, n) } }));
  if (res.Item) return versionOf(res.Item);
  const h = head === undefined ? await getJourneyHead(table, id) : head;
  return h && h.version === n ? currentOf(h) : null;
}

/** Versions 1…head.version that exist, oldest first (a BatchGetItem per 100). */
export async function listJourneyVersions(table: string, head: JourneyHead, from = 1): Promise<JourneyVersion[]> {
  const keys = [];
  for (let n = Math.max(1, from); n <= head.version; n++) keys.push({ pk: versionKey(head.id, n) });
  if (!keys.length) return [];
  const { items, unprocessed } = await batchGet<Record<string, unknown>, Record<string, unknown>>(
    async (RequestItems) => doc().send(new BatchGetCommand({ RequestItems })),
    { [table]: { Keys: keys } },
  );
  if (Object.values(unprocessed).some((k) => k.length)) throw new Error(`could not read the versions of journey ${head.id}; retry`);
  const out = (items[table] ?? []).map(versionOf);
  if (!out.some((v) => v.version === head.version)) out.push(currentOf(head));
  return out.sort((a, b) => a.version - b.version);
}

const conflict = (id: string) => new CairnError('definition_conflict', `journey "${id}" was changed by another request at the same time; retry`, 409);

/** The condition that the head is still the one read (`rev`; a head of before revisions: its version). */
function sameHead(head: JourneyHead | null): { ConditionExpression: string; ExpressionAttributeValues?: Record<string, unknown> } {
  if (!head) return { ConditionExpression: 'attribute_not_exists(pk)' };
  if (head.rev === 0) return { ConditionExpression: 'attribute_not_exists(rev) AND version = :v', ExpressionAttributeValues: { ':v': head.version } };
  return { ConditionExpression: 'rev = :rev', ExpressionAttributeValues: { ':rev': head.rev } };
}

async function putVersionItem(table: string, v: JourneyVersion & { source: JsonObject }): Promise<void> {
  try {
    await doc().send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: versionKey(v.id, v.version),
          versionOf: headKey(v.id),
          kind: 'journey',
          id: v.id,
          version: v.version,
          source: JSON.stringify(v.source),
          hash: v.hash,
          appliedAt: v.appliedAt,
          pausedMsBefore: v.pausedMsBefore,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (e) {
    if (!isConditionFailure(e)) throw e; // already written: versions never change
  }
}

/**
 * Stores `def` as version `lifecycle.version` (= head.version + 1, or 1) with the head's new status and
 * lifecycle, conditional on the head read (`definition_conflict` otherwise). Returns the new version.
 */
export async function putJourneyVersion(
  table: string,
  def: JourneyDef,
  head: JourneyHead | null,
  next: { status: JourneyStatus; lifecycle: JourneyLifecycle },
  now = new Date(),
): Promise<JourneyVersion> {
  const version = next.lifecycle.version;
  if (version !== (head?.version ?? 0) + 1) throw new Error(`journey ${def.id}: version ${version} does not follow ${head?.version ?? 0}`);
  // Every earlier version keeps its item: write the current one's if its apply crashed before it.
  if (head) await putVersionItem(table, { ...currentOf(head), source: head.definition.source });
  const hash = contentHash(def.source);
  const { version: _v, status: _s, ...lifecycle } = next.lifecycle;
  try {
    await doc().send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: headKey(def.id),
          kind: 'journey',
          id: def.id,
          source: JSON.stringify(def.source),
          version,
          updatedAt: now.toISOString(),
          status: next.status,
          hash,
          lifecycle: JSON.stringify(lifecycle),
          rev: (head?.rev ?? 0) + 1,
        },
        ...sameHead(head),
      }),
    );
  } catch (e) {
    if (isConditionFailure(e)) throw conflict(def.id);
    throw e;
  }
  const v: JourneyVersion = { id: def.id, version, definition: def, hash, appliedAt: now.toISOString(), pausedMsBefore: next.lifecycle.pausedMs };
  await putVersionItem(table, { ...v, source: def.source });
  // A journey's conditions keep event counters on profiles (segments/runtime.ts): a change of the set.
  await bumpDefinitionsRevision(table);
  return v;
}

/** Changes the head's status and lifecycle (pause, resume, archive, delete), conditional on the head read. */
export async function setJourneyStatus(
  table: string,
  head: JourneyHead,
  status: JourneyStatus | 'deleted',
  lifecycle: JourneyLifecycle,
  now = new Date(),
): Promise<JourneyHead> {
  const { version: _v, status: _s, ...rest } = lifecycle;
  const cond = sameHead(head);
  try {
    await doc().send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: headKey(head.id) },
        UpdateExpression: 'SET #st = :st, lifecycle = :l, statusAt = :at, rev = :next',
        ExpressionAttributeNames: { '#st': 'status' },
        ...cond,
        ExpressionAttributeValues: {
          ...cond.ExpressionAttributeValues,
          ':st': status,
          ':l': JSON.stringify(rest),
          ':at': now.toISOString(),
          ':next': head.rev + 1,
        },
      }),
    );
  } catch (e) {
    if (isConditionFailure(e)) throw conflict(head.id);
    throw e;
  }
  // A deleted journey leaves the listed set (its counters go with it).
  if (status === 'deleted') await bumpDefinitionsRevision(table);
  return { ...head, status, lifecycle: { ...lifecycle, status: status === 'deleted' ? 'archived' : status }, rev: head.rev + 1 };
}
