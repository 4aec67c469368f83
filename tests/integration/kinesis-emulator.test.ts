/**
 * The local Kinesis (kinesalite, local/kinesalite-fix.cjs) never moves an iterator past a record
 * that is not readable yet. kinesalite used to answer an empty GetRecords with an iterator moved to
 * the read's clock; a read that raced the first PutRecords of a fresh stream across a second
 * boundary so skipped that stream's first record for good (cli-import found 199 of its 200 rows).
 * The race is replayed exactly here: the empty read runs with its clock in a later second than the
 * put's, as when it starts while the put is still writing.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { kinesis } from '#shared/aws/clients';
import { STREAMS } from '#shared/config/resources';

let emu: Emulators;
beforeAll(async () => {
  // In this thread, so that the test sets the emulator's clock.
  emu = await startEmulators(mkdtempSync(join(tmpdir(), 'cairn-kinesis-')), { threads: false });
  useEndpoints(emu.endpoints);
  await createResources();
}, 60_000);
afterAll(async () => emu?.close());

const text = (r: { Data?: Uint8Array }) => Buffer.from(r.Data!).toString();

describe('local Kinesis', () => {
  it("an empty read keeps its position: a fresh stream's first record is delivered even when the read raced its write", async () => {
    const StreamName = STREAMS.raw.name;
    // One partition key, so both records go to the shard that gets the group's first sequence index.
    const put = () =>
      kinesis().send(new PutRecordsCommand({ StreamName, Records: ['first', 'second'].map((d) => ({ PartitionKey: 'pk', Data: Buffer.from(d) })) }));
    const shardIds = ['shardId-000000000000', 'shardId-000000000001'];
    const start = await Promise.all(
      shardIds.map(
        async (ShardId) => (await kinesis().send(new GetShardIteratorCommand({ StreamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator!,
      ),
    );

    // The empty reads, their clock 2.5 s ahead of the put that follows (a later second, whatever the
    // millisecond now is).
    const realNow = Date.now.bind(Date);
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 2_500);
    let next: string[];
    try {
      const empty = await Promise.all(start.map((ShardIterator) => kinesis().send(new GetRecordsCommand({ ShardIterator }))));
      expect(empty.map((r) => r.Records?.length)).toEqual([0, 0]);
      next = empty.map((r) => r.NextShardIterator!);
    } finally {
      clock.mockRestore();
    }
    const written = await put();
    const shard = shardIds.indexOf(written.Records![0]!.ShardId!);

    // The iterators the empty reads answered must not be used before their own time has come.
    await new Promise((r) => setTimeout(r, 2_600));
    const got = await kinesis().send(new GetRecordsCommand({ ShardIterator: next[shard]! }));
    expect(got.Records!.map(text)).toEqual(['first', 'second']);
  });
});
