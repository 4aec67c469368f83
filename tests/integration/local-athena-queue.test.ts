/**
 * The local Athena runs a few queries at once and queues the rest, as Athena queues what exceeds an
 * account's concurrency (docs/local.md#athena): a query started past the limit is QUEUED (no engine
 * time yet) until one finishes, queries start in the order they came, and one stopped while queued
 * is CANCELLED and never runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand, StopQueryExecutionCommand } from '@aws-sdk/client-athena';
import { emulatorConfig } from '#shared/aws/emulators';
import { type LocalAthena, startAthena } from '#local/athena/server';

describe('the local Athena queues queries past its concurrency', () => {
  let dir: string;
  let athena: LocalAthena;
  let client: AthenaClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-athena-queue-'));
    athena = await startAthena({ dataDir: dir, workgroups: ['primary'], concurrency: 1 });
    client = new AthenaClient(emulatorConfig('athena', athena.endpoint));
  });
  afterAll(async () => {
    await athena?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (sql: string) => (await client.send(new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: 'primary' }))).QueryExecutionId!;
  const get = async (id: string) => (await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!;
  async function until(id: string, states: string[]) {
    for (let i = 0; i < 200; i++) {
      const x = await get(id);
      if (states.includes(x.Status!.State!)) return x;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`${id} never reached ${states.join('/')}`);
  }

  it('a query past the limit waits QUEUED, runs when the running one ends; one stopped while queued never runs', async () => {
    // DuckDB sums 10^11 numbers: it runs until stopped.
    const long = await start('SELECT sum(i) AS s FROM range(100000000000) t(i)');
    await until(long, ['RUNNING']);
    const next = await start('SELECT 1 AS one');
    const dropped = await start('SELECT 2 AS two');
    await new Promise((r) => setTimeout(r, 300));
    const waiting = await get(next);
    expect(waiting.Status?.State).toBe('QUEUED');
    expect(waiting.Statistics?.EngineExecutionTimeInMillis).toBeUndefined();
    expect(waiting.Statistics?.QueryQueueTimeInMillis).toBeGreaterThanOrEqual(250);

    await client.send(new StopQueryExecutionCommand({ QueryExecutionId: dropped }));
    expect((await get(dropped)).Status?.State).toBe('CANCELLED');
    await client.send(new StopQueryExecutionCommand({ QueryExecutionId: long }));

    const done = await until(next, ['SUCCEEDED', 'FAILED']);
    expect(done.Status?.State).toBe('SUCCEEDED');
    expect(done.Statistics?.QueryQueueTimeInMillis).toBeGreaterThanOrEqual(250);
    await new Promise((r) => setTimeout(r, 100));
    const never = await get(dropped);
    expect(never.Status?.State).toBe('CANCELLED');
    expect(never.Statistics?.EngineExecutionTimeInMillis).toBeUndefined();
  });
});
