/**
 * The segment members index (`TABLES.segmentMembers`, the `table` each call names: pk `segmentId`, sk
 * `profileId`), read by `GET /v1/segments/{id}/members`. Rows are written (BatchWriteItem, 25 per request) after the
 * profile that holds the membership, and only for transitions not yet recorded as published on the
 * profile (`segPub`, effects.ts): a writer computes its transitions after reading the previous
 * writer's record, so index writes of one profile are ordered without conditions.
 */
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchWrite, countItems, type DocWriteRequest } from '../aws/batch';
import { documentClient as doc } from '../aws/clients';
import { CairnError } from '../errors';

export interface MembershipChange {
  segmentId: string;
  profileId: string;
  member: boolean;
  /** Version of the profile write that decided it. */
  version: number;
}

/** Writes membership rows: a put for each member, a delete for each one who left. */
export async function writeMemberships(table: string, changes: MembershipChange[], now = new Date()): Promise<void> {
  // One request per row key (BatchWriteItem refuses duplicates): the last change wins.
  const last = new Map(changes.map((c) => [`${c.segmentId}\u0000${c.profileId}`, c]));
  const reqs = [...last.values()].map((c) =>
    c.member
      ? { PutRequest: { Item: { segmentId: c.segmentId, profileId: c.profileId, since: now.toISOString(), v: c.version } } }
      : { DeleteRequest: { Key: { segmentId: c.segmentId, profileId: c.profileId } } },
  );
  const left = await batchWrite<DocWriteRequest>(
    async (RequestItems) => doc().send(new BatchWriteCommand({ RequestItems })),
    { [table]: reqs },
    { baseMs: 20, capMs: 1000, maxRounds: 21 },
  );
  if (countItems(left)) throw new CairnError('members_write_failed', 'BatchWriteItem: unprocessed items after 20 attempts', 500);
}

export interface MembersPage {
  segment: string;
  members: { profileId: string; since: string }[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next: string | null;
}

const encodeCursor = (profileId: string) => Buffer.from(JSON.stringify({ p: profileId })).toString('base64url');
function decodeCursor(c: string): string {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { p?: unknown };
    if (typeof v.p === 'string' && v.p) return v.p;
  } catch {
    // fall through
  }
  throw new CairnError('invalid_parameter', 'cursor is not one this API returned', 400);
}

/** Current members of a segment in profileId order, `limit` per page. */
export async function listMembers(table: string, segmentId: string, opts: { limit: number; cursor?: string }): Promise<MembersPage> {
  if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 1000)
    throw new CairnError('invalid_parameter', 'limit must be an integer from 1 to 1000', 400);
  const members: MembersPage['members'] = [];
  let start: Record<string, unknown> | undefined = opts.cursor ? { segmentId, profileId: decodeCursor(opts.cursor) } : undefined;
  let more = true;
  while (members.length < opts.limit && more) {
    const res = await doc().send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'segmentId = :s',
        ExpressionAttributeValues: { ':s': segmentId },
        ExclusiveStartKey: start,
        Limit: opts.limit - members.length,
        ConsistentRead: true,
      }),
    );
    for (const it of res.Items ?? []) {
      if (members.length >= opts.limit) break;
      members.push({ profileId: String(it.profileId), since: String(it.since ?? '') });
    }
    start = res.LastEvaluatedKey;
    more = start !== undefined;
  }
  const last = members[members.length - 1];
  // A full page may be the last one; the next call then answers an empty page with next null.
  return { segment: segmentId, members, next: members.length >= opts.limit && last ? encodeCursor(last.profileId) : null };
}

/** How many members a segment has now: a count-only Query of its rows (no item is returned). */
export async function countMembers(table: string, segmentId: string): Promise<number> {
  let n = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const res = await doc().send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'segmentId = :s',
        ExpressionAttributeValues: { ':s': segmentId },
        Select: 'COUNT',
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    n += res.Count ?? 0;
    start = res.LastEvaluatedKey;
  } while (start);
  return n;
}
