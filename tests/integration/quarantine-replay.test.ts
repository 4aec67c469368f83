/**
 * `POST /v1/quarantine/replay` on the local stack: the rows of a quarantine object go back through the
 * pipeline once (a dry run only counts; a second request skips what the first replayed; `maxObjects`
 * bounds a request and `more` says to send it again), as `npx cairn replay --from quarantine` does —
 * it is the same replay (shared/normalize/s3-replay.ts). Audited as `quarantine.replayed`.
 */
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { lakeEvents } from '../support/lake';
import { useLocalStack } from '../support/stack';

describe('quarantine replay through the admin API', () => {
  const stack = useLocalStack({ name: 'quarantine-replay', functions: ['collect', 'normalize', 'admin'] });
  const day = new Date().toISOString().slice(0, 10);
  const row = (id: string) => {
    const now = new Date().toISOString();
    return {
      message_id: id,
      code: 'old_rule',
      reason: 'a rule since fixed',
      message: JSON.stringify({
        message: { type: 'track', event: 'Replayed', userId: `u-${id}`, messageId: id, timestamp: now, receivedAt: now },
        sourceId: 'default',
        receivedAt: now,
      }),
      received_at: now,
      source_id: 'default',
      stage: 'normalize',
    };
  };
  const put = (name: string, rows: unknown[]) =>
    s3().send(
      new PutObjectCommand({
        Bucket: LAKE.localBucket,
        Key: `${LAKE.quarantinePrefix}dt=${day}/${name}.json.gz`,
        Body: gzipSync(rows.map((x) => JSON.stringify(x)).join('\n') + '\n'),
      }),
    );

  it('counts in a dry run, replays each object once, and goes on where a bounded request stopped', async () => {
    await put('a', [row('rq-1'), row('rq-2')]);
    await put('b', [row('rq-3')]);
    const dry = await stack.admin('POST', '/v1/quarantine/replay', { dryRun: true });
    expect(dry.status, JSON.stringify(dry.json)).toBe(200);
    expect(dry.json).toMatchObject({ dryRun: true, objects: 2, replayedObjects: 0, records: { 'cairn-raw': 3 } });

    const first = await stack.admin('POST', '/v1/quarantine/replay', { maxObjects: 1 });
    expect(first.json).toMatchObject({ dryRun: false, replayedObjects: 1, more: true });
    const rest = await stack.admin('POST', '/v1/quarantine/replay', { maxObjects: 1 });
    expect(rest.json).toMatchObject({ replayedObjects: 1, alreadyReplayed: 1 });
    expect(rest.json.more).toBeUndefined();
    expect(await stack.drain(30_000)).toBe(true);
    const ids = (await lakeEvents()).map((e) => e.message_id).filter((id) => id?.startsWith('rq-'));
    expect(ids.sort()).toEqual(['rq-1', 'rq-2', 'rq-3']);

    const again = await stack.admin('POST', '/v1/quarantine/replay', {});
    expect(again.json).toMatchObject({ replayedObjects: 0, alreadyReplayed: 2, records: {} });
    expect((await stack.admin('POST', '/v1/quarantine/replay', { since: 'yesterday' })).json.error.code).toBe('invalid_body');
  });
});
