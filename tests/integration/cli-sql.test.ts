/**
 * `cairn sql` over a real lake: gzip JSON Lines objects put through a real s3rver with the S3 client
 * (so the on-disk layout is s3rver's own), then queried with DuckDB from the data directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { encodeJsonLines, eventObjectKey, quarantineObjectKey } from '#shared/lake';
import type { LakeEventRow, LakeQuarantineRow } from '#shared/message/types';
import { openLocalLake, queryLocalLake, rowObjects } from '#cli/lake';
import { run } from '#cli/main';
import { io } from '../support/io';

const exec = promisify(execFile);
const BIN = resolve(__dirname, '../../bin/cairn.js');

const ev = (id: string, event: string | null, day: string, props: Record<string, unknown>, extra: Partial<LakeEventRow> = {}): LakeEventRow => ({
  message_id: id,
  type: event ? 'track' : 'identify',
  event,
  name: null,
  category: null,
  user_id: `u-${id}`,
  anonymous_id: null,
  group_id: null,
  previous_id: null,
  timestamp: `${day}T10:00:00.000Z`,
  original_timestamp: null,
  sent_at: null,
  received_at: `${day}T10:00:01.000Z`,
  properties: JSON.stringify(props),
  traits: '{}',
  context: JSON.stringify({ library: { name: 'test' } }),
  source_id: 'default',
  ...extra,
});

const put = (key: string, rows: unknown[]) => s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: key, Body: encodeJsonLines(rows) }));

describe('cairn sql over the local lake', () => {
  let emu: Emulators;
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-cli-lake-'));

  beforeAll(async () => {
    emu = await startEmulators(dataDir);
    useEndpoints(emu.endpoints);
    await createResources();
  });
  afterAll(async () => emu?.close());

  it('answers zero rows on an empty lake, for every table', async () => {
    for (const t of ['events', 'quarantine', 'profiles']) {
      const r = await queryLocalLake(dataDir, `select count(*) as n from ${t}`);
      expect(r.rows).toEqual([[0]]);
    }
    const cols = await queryLocalLake(dataDir, 'select * from events');
    expect(cols.rows).toEqual([]);
    expect(cols.columns.map((c) => c.name)).toEqual([
      'message_id',
      'type',
      'event',
      'name',
      'category',
      'user_id',
      'anonymous_id',
      'group_id',
      'previous_id',
      'timestamp',
      'original_timestamp',
      'sent_at',
      'received_at',
      'properties',
      'traits',
      'context',
      'source_id',
      'dt',
    ]);
    // JSON operators work on the empty relation too.
    expect((await queryLocalLake(dataDir, "select sum((properties->>'total')::double) from events")).rows).toEqual([[null]]);
  });

  it('groups, extracts JSON properties and filters on the dt partition', async () => {
    // A lake opened before any file exists must see files written later.
    const lake = await openLocalLake(dataDir);
    expect((await lake.query('select count(*) from events')).rows).toEqual([[0]]);

    await put(eventObjectKey('2024-05-01', 'shardId-000000000000', '100'), [
      ev('a', 'Order Completed', '2024-05-01', { total: 10.5, currency: 'EUR' }),
      ev('b', 'Order Completed', '2024-05-01', { total: 4.5 }),
      ev('c', null, '2024-05-01', {}),
    ]);
    await put(eventObjectKey('2024-05-02', 'shardId-000000000001', '200'), [
      ev('d', 'Order Completed', '2024-05-02', { total: 100 }),
      ev('e', 'Product Viewed', '2024-05-02', { sku: 'x,"y"' }),
    ]);
    await put(quarantineObjectKey('2024-05-02', 'shardId-000000000000', '300'), [
      {
        message_id: 'q1',
        code: 'invalid_email',
        reason: 'traits.email is not an email address',
        message: JSON.stringify({ traits: { email: 'nope' } }),
        received_at: '2024-05-02T09:00:00.000Z',
        source_id: 'default',
        stage: 'normalize',
      } satisfies LakeQuarantineRow,
    ]);

    const byEvent = await lake.query(
      "select event, count(*) as n, sum((properties->>'total')::double) as revenue from events where type = 'track' group by event order by event",
    );
    expect(byEvent.rows).toEqual([
      ['Order Completed', 3, 115],
      ['Product Viewed', 1, null],
    ]);
    const day1 = await lake.query("select message_id from events where dt = '2024-05-01' order by message_id");
    expect(day1.rows).toEqual([['a'], ['b'], ['c']]);
    const perDay = await lake.query('select dt, count(*) from events group by dt order by dt');
    expect(perDay.rows).toEqual([
      ['2024-05-01', 3],
      ['2024-05-02', 2],
    ]);
    const nested = await lake.query("select properties->>'currency' as cur, context->'library'->>'name' as lib, timestamp from events where message_id = 'a'");
    expect(nested.rows).toEqual([['EUR', 'test', '2024-05-01T10:00:00.000Z']]);
    const q = await lake.query("select code, message->'traits'->>'email' as email, dt from quarantine");
    expect(q.rows).toEqual([['invalid_email', 'nope', '2024-05-02']]);
    const objs = rowObjects(await lake.query("select message_id, properties from events where message_id = 'e'"));
    expect(objs).toEqual([{ message_id: 'e', properties: { sku: 'x,"y"' } }]);
    lake.close();
  });

  it('prints csv/json/table through the CLI', async () => {
    const c = io();
    expect(
      await run(
        ['--data-dir', dataDir, 'sql', "select message_id, properties->>'sku' as sku from events where event = 'Product Viewed'", '--format', 'csv'],
        c,
      ),
    ).toBe(0);
    expect(c.out).toBe('message_id,sku\r\ne,"x,""y"""\r\n');
    const t = io();
    expect(await run(['--data-dir', dataDir, 'sql', 'select dt, count(*) as n from events group by dt order by dt'], t)).toBe(0);
    expect(t.out).toBe('dt         | n\n-----------+--\n2024-05-01 | 3\n2024-05-02 | 2\n(2 rows)\n');
  });

  it('bin/cairn.js runs as a child process from another working directory', async () => {
    const { stdout } = await exec(BIN, ['sql', 'select count(*) as n from events', '--format', 'json'], {
      cwd: tmpdir(),
      env: { ...process.env, CAIRN_DATA_DIR: dataDir },
    });
    expect(JSON.parse(stdout)).toEqual([{ n: 5 }]);
    const failed = await exec(BIN, ['sql', 'select * from nowhere'], { cwd: tmpdir(), env: { ...process.env, CAIRN_DATA_DIR: dataDir } }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^error: Catalog Error: Table with name nowhere does not exist!.*\n$/);
  });
});
