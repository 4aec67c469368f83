/**
 * The λ resolve handler: a Kinesis batch of NormalizedMessages (normalized stream) → identity graph,
 * profiles, timeline, `profiles` lake snapshots and bus events. Answers a partial batch response.
 * Above identity, profiles, segments and the suppression list: it puts them together (docs/architecture.md).
 */
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { type LakeIndexRecord, type LakeQuarantineRow, type NormalizedMessage, MESSAGE_TYPES } from '../message';
import { processBatch, type ResolverDeps, type BatchRecord, lakeIndexEntries } from '../identity';
import type { DropSuppressed } from '../suppression';

/** `shardId-000000000001:4959…` → `shardId-000000000001`. */
export const shardOf = (r: KinesisStreamRecord): string => r.eventID?.split(':')[0] || 'shardId-unknown';

function decode(r: KinesisStreamRecord): { message: NormalizedMessage; lakeKey?: string } | LakeIndexRecord | string {
  let m: unknown;
  try {
    m = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8'));
  } catch {
    return 'record data is not JSON';
  }
  const o = m as Partial<NormalizedMessage> | null;
  if (!o || typeof o !== 'object') return 'record is not an object';
  // An object of lake rows normalize wrote (shared/message/lake-rows.ts): indexed under its person, nothing else.
  if ('lakeIndex' in o) {
    const x = (o as { lakeIndex: unknown }).lakeIndex as Partial<LakeIndexRecord['lakeIndex']> | null;
    if (!x || typeof x.profileId !== 'string' || !x.profileId || typeof x.key !== 'string' || !x.key) return 'lakeIndex: profileId and key must be strings';
    return { lakeIndex: { profileId: x.profileId, key: x.key } };
  }
  if (typeof o.messageId !== 'string' || !o.messageId) return 'messageId missing';
  if (!MESSAGE_TYPES.includes(o.type as never)) return 'type missing or unknown';
  if (typeof o.timestamp !== 'string' || Number.isNaN(Date.parse(o.timestamp))) return 'timestamp missing or invalid';
  // normalize's lake object key travels beside the message (internal field): it goes to the lake index, not on.
  const { lakeKey, ...rest } = o as Partial<NormalizedMessage> & { lakeKey?: unknown };
  const message = { properties: {}, traits: {}, context: {}, receivedAt: o.timestamp, sourceId: '', ...rest } as NormalizedMessage;
  return typeof lakeKey === 'string' && lakeKey ? { message, lakeKey } : { message };
}

/** The resolver's dependencies, and the suppression list its batches are checked against. */
export type ResolveDeps = ResolverDeps & { dropSuppressed: DropSuppressed };

export function resolveHandler(makeDeps: () => ResolveDeps) {
  let deps: ResolveDeps | undefined;
  return async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    deps ??= makeDeps();
    const byShard = new Map<
      string,
      { records: BatchRecord[]; bad: LakeQuarantineRow[]; indexed: LakeIndexRecord['lakeIndex'][]; first: string; last: string }
    >();
    for (const r of event.Records) {
      const shard = shardOf(r);
      let b = byShard.get(shard);
      if (!b) byShard.set(shard, (b = { records: [], bad: [], indexed: [], first: r.kinesis.sequenceNumber, last: r.kinesis.sequenceNumber }));
      b.last = r.kinesis.sequenceNumber;
      const m = decode(r);
      if (typeof m === 'string') {
        b.bad.push({
          message_id: null,
          code: 'malformed_record',
          reason: m,
          message: Buffer.from(r.kinesis.data, 'base64').toString('utf8').slice(0, 32_768),
          received_at: new Date().toISOString(),
          source_id: null,
          stage: 'resolve',
        });
      } else if ('lakeIndex' in m) b.indexed.push(m.lakeIndex);
      else b.records.push({ ...m, seq: r.kinesis.sequenceNumber });
    }
    const failures: { itemIdentifier: string }[] = [];
    for (const [shard, b] of byShard) {
      if (b.bad.length && deps.lake)
        await deps.lake({
          shardId: `${shard}-malformed`,
          batchFirst: b.first,
          batchLast: b.last,
          now: new Date().toISOString(),
          changed: [],
          quarantine: b.bad,
        });
      // Erased people (docs/privacy.md): messages with a suppressed identifier are dropped (and counted) here too.
      const { kept } = await deps.dropSuppressed(b.records, (r) => r.message, deps.config, 'resolve');
      // A dropped message normalize already wrote to the lake (its copy of the list was older) has no
      // profile to be indexed under: index its object as unattached, which every erasure reads. Objects
      // of lake rows are indexed under the profile their rows are about (an index item each: unconditional,
      // named after its keys, so a retry rewrites the same item).
      const keptSet = new Set(kept);
      const index = lakeIndexEntries([...b.records.filter((r) => !keptSet.has(r)).map((r) => ({ profileId: null, key: r.lakeKey })), ...b.indexed]);
      if (index.length) await deps.store.putTimeline([], index);
      const res = await processBatch(deps, shard, kept);
      if (!res.ok && res.failedSeq) failures.push({ itemIdentifier: res.failedSeq });
    }
    return { batchItemFailures: failures };
  };
}
