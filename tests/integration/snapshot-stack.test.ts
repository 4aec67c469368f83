/**
 * The daily snapshot inside the local stack: starting the stack creates SCHEDULES.dailyProfileSnapshot
 * in the local scheduler (found through `GET /_aws/endpoints`, read with the AWS SDK), a restart
 * leaves it as it is, and when its period (15 minutes: a run continues from its cursor, or starts
 * today's snapshot once a day) has passed on the scheduler's clock the schedule runs λ snapshot through the stack, which writes today's daily rows that `queryLocalLake` (npx cairn sql) reads.
 * The scheduler is the real local one, started with an injectable clock so time passes instantly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { startTestStack, type TestStack } from '../support/stack';
import { service as eventsService } from '#local/eventbridge/service';
import { service as secretsService } from '#local/secretsmanager/service';
import { clockedScheduler } from '../support/scheduler';
import { SCHEDULES } from '#shared/config/resources';
import { queryLocalLake, rowObjects } from '#cli/lake';

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-snapshot-stack-'));
const basic = `Basic ${Buffer.from('dev-write-key:').toString('base64')}`;
const creds = { accessKeyId: 'local', secretAccessKey: 'local' };

let clock = Date.now();
/** The stack's scheduler service, with the clock under the test's control. */
const clocked = clockedScheduler(() => clock, { drainOnClose: true });
const schedulerService = clocked.service;
// Started twice on the same data directory (a restart), so not useLocalStack.
const start = () =>
  startTestStack({
    dataDir,
    functions: ['collect', 'normalize', 'resolve', 'snapshot'],
    services: [eventsService, schedulerService, secretsService],
    env: { CAIRN_LOG_LEVEL: 'error' },
  });

async function schedulerClient(stack: TestStack): Promise<SchedulerClient> {
  const endpoints = (await (await fetch(`${stack.url}/_aws/endpoints`)).json()) as Record<string, string>;
  expect(endpoints.scheduler).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return new SchedulerClient({ endpoint: endpoints.scheduler, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
}

describe('daily snapshot schedule in the local stack', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await start();
  });
  afterAll(async () => stack?.close());

  it('exists after start, targets λ snapshot every 15 minutes, and a restart leaves it untouched', async () => {
    const def = SCHEDULES.dailyProfileSnapshot;
    let sdk = await schedulerClient(stack);
    const got = await sdk.send(new GetScheduleCommand({ Name: def.name }));
    expect(got).toMatchObject({ Name: def.name, State: 'ENABLED', ScheduleExpression: 'rate(15 minutes)' });
    expect(got.Target?.Arn).toMatch(/^arn:aws:lambda:[a-z0-9-]+:000000000000:function:.*snapshot$/);

    await stack.close();
    clock += 60_000; // less than the period: the restart fires nothing
    stack = await start();
    sdk = await schedulerClient(stack);
    const again = await sdk.send(new GetScheduleCommand({ Name: def.name }));
    expect(again.LastModificationDate).toEqual(got.LastModificationDate); // not re-created: its next run is kept
    const listed = await sdk.send(new ListSchedulesCommand({ NamePrefix: def.name }));
    expect(listed.Schedules?.map((s) => s.Name)).toEqual([def.name]);
  });

  it("15 minutes later it fires λ snapshot through the stack: today's daily rows, live profiles only, in SQL", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const res = await fetch(`${stack.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: JSON.stringify({
        batch: [
          { type: 'page', anonymousId: 'dev-a', name: 'Home', messageId: 'st-1' },
          { type: 'page', anonymousId: 'dev-b', name: 'Home', messageId: 'st-2' },
          { type: 'identify', userId: 'dora', anonymousId: 'dev-a', traits: { email: 'dora@example.com' }, messageId: 'st-3' },
          { type: 'identify', userId: 'eli', messageId: 'st-4' },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(await stack.drain(30_000)).toBe(true);
    // dev-b's anonymous profile merges into dora's once she is seen on it.
    await fetch(`${stack.url}/v1/alias`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: JSON.stringify({ userId: 'dora', previousId: 'dev-b', messageId: 'st-5' }),
    });
    expect(await stack.drain(30_000)).toBe(true);

    const daily = `select count(*) as n from profiles where snapshot_kind = 'daily' and dt = '${today}'`;
    expect(rowObjects(await queryLocalLake(dataDir, daily))).toEqual([{ n: 0 }]);
    expect(await clocked.scheduler.tick()).toBe(0); // not due yet

    clock += 15 * 60_000;
    expect(await clocked.scheduler.tick()).toBe(1);
    expect(await stack.drain(30_000)).toBe(true);
    expect(clocked.scheduler.stats()).toMatchObject({ delivered: 1, deadLettered: 0 });

    const rows = rowObjects(
      await queryLocalLake(
        dataDir,
        `select profile_id, merged_into, identities from profiles where snapshot_kind = 'daily' and dt = '${today}' order by profile_id`,
      ),
    );
    expect(rows).toHaveLength(2); // dora (with dev-a and dev-b) and eli; the merged-away profile is not there
    expect(rows.every((r) => r.merged_into === null)).toBe(true);
    const values = rows.map((r) => (r.identities as { value: string }[]).map((i) => i.value).sort());
    expect(values).toEqual(expect.arrayContaining([['dev-a', 'dev-b', 'dora', 'dora@example.com'], ['eli']]));
    const merged = rowObjects(await queryLocalLake(dataDir, `select distinct profile_id from profiles where merged_into is not null`));
    expect(merged.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.profile_id)).not.toContain(merged[0]!.profile_id);
  });
});
