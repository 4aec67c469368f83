/**
 * The admin API's lake queries on the local stack (docs/api.md#lake-queries): λ admin's Athena client
 * against the local twin's Athena (local/athena/), which runs DuckDB over the lake's objects. A
 * hand-written lake: the catalogue, quarantine, privacy requests, throughput and a report answer as
 * the CLI does; a long query is cancelled through the API; the Athena API answers as AWS documents.
 */
import { describe, expect, it } from 'vitest';
import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, StopQueryExecutionCommand } from '@aws-sdk/client-athena';
import { LOCAL_ATHENA } from '#shared/config';
import { emulatorConfig } from '#shared/aws/emulators';
import { auditObjectKey, eventObjectKey, profileObjectKey, quarantineObjectKey } from '#shared/lake';
import { lakeProfile, lakeRow, putLakeObject } from '../support/lake';
import { useLocalStack } from '../support/stack';

const NOW = new Date();
const today = NOW.toISOString().slice(0, 10);
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

describe('lake queries through the admin API, on the local Athena', () => {
  const stack = useLocalStack({ name: 'lake-queries', functions: ['admin'] });
  const athena = () => new AthenaClient(emulatorConfig('athena', stack.stack.endpoints.athena!));

  /** Starts a query and polls it to the end. */
  async function query(body: unknown): Promise<Record<string, any>> {
    const s = await stack.admin('POST', '/v1/lake/queries', body);
    expect(s.status, JSON.stringify(s.json)).toBe(202);
    for (let i = 0; i < 200; i++) {
      const r = await stack.admin('GET', s.json.statusUrl);
      expect(r.status).toBe(200);
      if (r.json.state !== 'queued' && r.json.state !== 'running') {
        expect(r.json.state, r.json.reason).toBe('succeeded');
        return r.json;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('the query did not finish');
  }
  const objects = (r: Record<string, any>) =>
    (r.result.rows as unknown[][]).map((row) => Object.fromEntries((r.result.columns as { name: string }[]).map((c, i) => [c.name, row[i]])));

  it('seeds the lake', async () => {
    await putLakeObject(eventObjectKey(today, 'shardId-000000000000', '1'), [
      lakeRow({ user: 'u1', event: 'Product Viewed', at: minutesAgo(30), props: { sku: 'A', price: 10 } }),
      lakeRow({ user: 'u1', event: 'Order Completed', at: minutesAgo(20), props: { total: 10, coupon: 'X' } }),
      lakeRow({ user: 'u2', event: 'Product Viewed', at: minutesAgo(10), props: { sku: 'B' } }),
      lakeRow({ anon: 'a3', at: minutesAgo(5), props: { path: '/' } }),
    ]);
    await putLakeObject(quarantineObjectKey(today, 'shardId-000000000000', '2'), [
      {
        message_id: 'q1',
        code: 'invalid_email',
        reason: 'traits.email: not an email',
        message: '{"type":"identify","traits":{"email":"nope"}}',
        received_at: minutesAgo(15),
        source_id: 'web',
        stage: 'normalize',
      },
      {
        message_id: 'q2',
        code: 'invalid_email',
        reason: 'traits.email: not an email',
        message: '{"type":"identify"}',
        received_at: minutesAgo(4),
        source_id: 'web',
        stage: 'normalize',
      },
      {
        message_id: 'q3',
        code: 'missing_field',
        reason: 'event: required for track',
        message: '{"type":"track"}',
        received_at: minutesAgo(3),
        source_id: 'app',
        stage: 'normalize',
      },
    ]);
    await putLakeObject(auditObjectKey(today, 'req-1'), [
      {
        at: minutesAgo(2),
        request_id: 'req-1',
        actor: 'arn:aws:iam::000000000000:user/ada',
        action: 'erasure.requested',
        target: 'er-1',
        status: 202,
        code: null,
      },
    ]);
    await putLakeObject(auditObjectKey(today, 'req-2'), [
      {
        at: minutesAgo(1),
        request_id: 'req-2',
        actor: 'arn:aws:iam::000000000000:user/ada',
        action: 'definition.put',
        target: 'segments/vip',
        status: 200,
        code: null,
      },
    ]);
  });

  it('the event catalogue: every event and property seen, with volumes and first/last seen', async () => {
    const r = await query({ query: 'catalogue' });
    expect(r.state, r.reason).toBe('succeeded');
    expect(r.progress.elapsedMs).toBeGreaterThanOrEqual(0);
    const rows = objects(r).map((x) => [x.event, x.property, x.type, x.events]);
    expect(rows).toEqual([
      ['Order Completed', null, 'track', 1],
      ['Order Completed', 'coupon', null, 1],
      ['Order Completed', 'total', null, 1],
      ['Product Viewed', null, 'track', 2],
      ['Product Viewed', 'price', null, 1],
      ['Product Viewed', 'sku', null, 2],
      ['page', null, 'page', 1],
      ['page', 'path', null, 1],
    ]);
    const viewed = objects(r).find((x) => x.event === 'Product Viewed' && x.property === null)!;
    expect([viewed.first_seen, viewed.last_seen]).toEqual([minutesAgo(30), minutesAgo(10)]);
  });

  it('quarantine: reasons with counts, and the newest rows of one code', async () => {
    const sum = objects(await query({ query: 'quarantine' }));
    expect(sum.map((x) => [x.code, x.stage, x.rows, x.example_reason])).toEqual([
      ['invalid_email', 'normalize', 2, 'traits.email: not an email'],
      ['missing_field', 'normalize', 1, 'event: required for track'],
    ]);
    const rows = objects(await query({ query: 'quarantine-rows', options: { code: 'invalid_email', limit: '1' } }));
    expect(rows).toEqual([
      {
        received_at: minutesAgo(4),
        code: 'invalid_email',
        stage: 'normalize',
        source_id: 'web',
        message_id: 'q2',
        reason: 'traits.email: not an email',
        message: '{"type":"identify"}',
      },
    ]);
  });

  it('privacy requests from the audit log; throughput per minute and source', async () => {
    expect(objects(await query({ query: 'privacy-requests' })).map((x) => [x.action, x.target, x.status])).toEqual([['erasure.requested', 'er-1', 202]]);
    const t = objects(await query({ query: 'throughput', options: { hours: '1' } }));
    expect(t.reduce((n, x) => n + (x.events as number), 0)).toBe(4);
    expect(t.reduce((n, x) => n + (x.quarantined as number), 0)).toBe(3);
    expect(new Set(t.map((x) => x.source_id))).toEqual(new Set(['default', 'web', 'app']));
  });

  it('a report answers as `cairn report` does', async () => {
    const r = await query({ query: 'funnel', options: { steps: 'Product Viewed,Order Completed', by: 'raw' } });
    expect(objects(r).map((x) => [x.event, x.people])).toEqual([
      ['Product Viewed', 2],
      ['Order Completed', 1],
    ]);
    const cli = await stack.cli([
      '--data-dir',
      stack.dataDir,
      'report',
      'funnel',
      '--steps',
      'Product Viewed,Order Completed',
      '--by',
      'raw',
      '--format',
      'json',
    ]);
    expect(cli.err).toBe('');
    expect(JSON.parse(cli.out).map((x: Record<string, unknown>) => [x.event, x.people])).toEqual([
      ['Product Viewed', 2],
      ['Order Completed', 1],
    ]);
  });

  it('a long query shows its progress and is cancelled through the API', async () => {
    // Started as the route would start it (a header naming a query), but long: DuckDB sums 10^11 numbers.
    const client = athena();
    const { QueryExecutionId: id } = await client.send(
      new StartQueryExecutionCommand({
        QueryString: `-- cairn-lake-query: {"query":"catalogue","options":{}}\nSELECT sum(i) AS s FROM range(100000000000) t(i)`,
        WorkGroup: LOCAL_ATHENA.workgroup,
      }),
    );
    let running: Record<string, any> = {};
    for (let i = 0; i < 100; i++) {
      running = (await stack.admin('GET', `/v1/lake/queries/${id}`)).json;
      if (running.state === 'running' && running.progress.elapsedMs > 300) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(running.state).toBe('running');
    const t0 = Date.now();
    const cancelled = await stack.admin('DELETE', `/v1/lake/queries/${id}`);
    expect(cancelled.json).toMatchObject({ state: 'cancelled', reason: 'Query cancelled by user' });
    expect(Date.now() - t0).toBeLessThan(3_000);
    const x = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    expect(x.QueryExecution?.Status?.State).toBe('CANCELLED');
  });

  it('the local Athena answers as AWS documents: header row, paging, errors', async () => {
    const client = athena();
    const { QueryExecutionId: id } = await client.send(
      new StartQueryExecutionCommand({
        QueryString: 'SELECT i, CAST(i AS DOUBLE) * 1.5 AS x, NULL AS z FROM range(3) t(i)',
        WorkGroup: LOCAL_ATHENA.workgroup,
      }),
    );
    for (let i = 0; i < 100; i++) {
      const x = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      if (x.QueryExecution?.Status?.State === 'SUCCEEDED') break;
      await new Promise((res) => setTimeout(res, 30));
    }
    const p1 = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 2 }));
    expect(p1.ResultSet?.Rows?.map((r) => r.Data?.map((d) => d.VarCharValue))).toEqual([
      ['i', 'x', 'z'],
      ['0', '0', undefined],
    ]);
    expect(p1.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Type)).toEqual(['bigint', 'double', 'integer']);
    const p2 = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 2, NextToken: p1.NextToken }));
    expect(p2.ResultSet?.Rows?.map((r) => r.Data?.[0]?.VarCharValue)).toEqual(['1', '2']);
    expect(p2.NextToken).toBeUndefined();
    await expect(client.send(new GetQueryExecutionCommand({ QueryExecutionId: 'nope' }))).rejects.toMatchObject({ name: 'InvalidRequestException' });
    await expect(client.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'other' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    // Stopping a finished query leaves it as it is.
    await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    expect((await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution?.Status?.State).toBe('SUCCEEDED');
  });

  it("segment-sizes: a segment's members per day from the daily snapshots; on-change rows and merged-away profiles do not count, a day without a snapshot has no row", async () => {
    const day = (n: number) => new Date(NOW.getTime() - n * 86_400_000).toISOString().slice(0, 10);
    const row = (id: string, date: string, segments: string[], kind: 'daily' | null, mergedInto: string | null = null) => ({
      ...lakeProfile(id, id, `${date}T02:00:00.000Z`, mergedInto),
      segments: JSON.stringify(segments),
      ...(kind ? { snapshot_kind: kind } : {}),
    });
    await putLakeObject(profileObjectKey(day(3), 'daily', '1'), [row('p1', day(3), ['vip'], 'daily'), row('p2', day(3), ['other'], 'daily')]);
    await putLakeObject(profileObjectKey(day(2), 'daily', '1'), [
      row('p1', day(2), ['vip', 'other'], 'daily'),
      row('p2', day(2), ['vip'], 'daily'),
      row('p3', day(2), ['vip'], 'daily', 'p1'),
    ]);
    // λ resolve's on-change row of the same day: not a snapshot of everyone, so not counted.
    await putLakeObject(profileObjectKey(day(2), 'shardId-000000000000', '9'), [row('p4', day(2), ['vip'], null)]);
    const r = objects(await query({ query: 'segment-sizes', options: { segment: 'vip' } }));
    expect(r).toEqual([
      { day: day(3), size: 1, profiles: 2 },
      { day: day(2), size: 2, profiles: 2 },
    ]);
    // The window is the caller's: the older day only.
    expect(objects(await query({ query: 'segment-sizes', options: { segment: 'vip', until: day(3) } }))).toEqual([{ day: day(3), size: 1, profiles: 2 }]);
    const refused = await stack.admin('POST', '/v1/lake/queries', { query: 'segment-sizes', options: {} });
    expect(refused.status).toBe(400);
  });
});
