import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConflictException,
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { startScheduler, type LocalScheduler } from '#local/scheduler/server';

const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const ROLE = 'arn:aws:iam::000000000000:role/scheduler';
const client = (endpoint: string) =>
  new SchedulerClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
/** `at()` text for an instant, in UTC. */
const at = (ms: number) => `at(${new Date(ms).toISOString().slice(0, 19)})`;
const DAY = 86_400_000;

type Call = { fn: string; payload: any };

describe('local EventBridge Scheduler driven by the AWS SDK', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-sched-'));
  let clock = Date.parse('2025-03-01T12:00:00Z');
  const calls: Call[] = [];
  let sched: LocalScheduler;
  let sdk: SchedulerClient;
  const base = (name: string, expr: string, extra: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput => ({
    Name: name,
    ScheduleExpression: expr,
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: fnArn('journeys'), RoleArn: ROLE, Input: JSON.stringify({ wait: name, at: '<aws.scheduler.scheduled-time>' }) },
    ...extra,
  });

  beforeAll(async () => {
    sched = await startScheduler({
      dataDir,
      invoke: async (fn, payload) => void calls.push({ fn, payload }),
      now: () => clock,
      tickMs: 0,
      retry: { baseDelayMs: 5 },
    });
    sdk = client(sched.endpoint);
  });
  afterAll(async () => sched?.close());

  it('creates, reads, updates, lists and deletes schedules', async () => {
    const c = await sdk.send(new CreateScheduleCommand(base('crud-1', at(clock + DAY), { Description: 'one', ActionAfterCompletion: 'DELETE' })));
    expect(c.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/default/crud-1');
    await expect(sdk.send(new CreateScheduleCommand(base('crud-1', at(clock + DAY))))).rejects.toBeInstanceOf(ConflictException);
    const g = await sdk.send(new GetScheduleCommand({ Name: 'crud-1' }));
    expect(g).toMatchObject({
      Name: 'crud-1',
      GroupName: 'default',
      State: 'ENABLED',
      Description: 'one',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
    expect(g.Target?.Arn).toBe(fnArn('journeys'));
    expect(g.CreationDate?.getTime()).toBe(clock);

    await sdk.send(new UpdateScheduleCommand({ ...base('crud-1', at(clock + 2 * DAY)), Description: 'two' }));
    expect((await sdk.send(new GetScheduleCommand({ Name: 'crud-1' }))).Description).toBe('two');

    await sdk.send(new CreateScheduleGroupCommand({ Name: 'journeys' }));
    expect((await sdk.send(new GetScheduleGroupCommand({ Name: 'journeys' }))).State).toBe('ACTIVE');
    expect((await sdk.send(new ListScheduleGroupsCommand({}))).ScheduleGroups?.map((x) => x.Name)).toEqual(['default', 'journeys']);
    await sdk.send(new CreateScheduleCommand(base('crud-2', at(clock + DAY), { GroupName: 'journeys' })));
    await sdk.send(new CreateScheduleCommand(base('crud-3', 'rate(5 minutes)', { GroupName: 'journeys', State: 'DISABLED' })));
    const inGroup = await sdk.send(new ListSchedulesCommand({ GroupName: 'journeys' }));
    expect(inGroup.Schedules?.map((s) => s.Name)).toEqual(['crud-2', 'crud-3']);
    const p1 = await sdk.send(new ListSchedulesCommand({ NamePrefix: 'crud-', MaxResults: 2 }));
    expect(p1.Schedules).toHaveLength(2);
    const p2 = await sdk.send(new ListSchedulesCommand({ NamePrefix: 'crud-', MaxResults: 2, NextToken: p1.NextToken }));
    expect([...p1.Schedules!, ...p2.Schedules!].map((s) => s.Name).sort()).toEqual(['crud-1', 'crud-2', 'crud-3']);
    expect((await sdk.send(new ListSchedulesCommand({ State: 'DISABLED' }))).Schedules?.map((s) => s.Name)).toEqual(['crud-3']);

    await sdk.send(new DeleteScheduleCommand({ Name: 'crud-2', GroupName: 'journeys' }));
    await sdk.send(new DeleteScheduleCommand({ Name: 'crud-3', GroupName: 'journeys' }));
    await sdk.send(new DeleteScheduleCommand({ Name: 'crud-1' }));
    await expect(sdk.send(new GetScheduleCommand({ Name: 'crud-1' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(sdk.send(new GetScheduleCommand({ Name: 'x', GroupName: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('rejects invalid schedules with ValidationException', async () => {
    await expect(sdk.send(new CreateScheduleCommand(base('bad-1', 'at(2025-13-01T00:00:00)')))).rejects.toBeInstanceOf(ValidationException);
    await expect(sdk.send(new CreateScheduleCommand(base('bad-2', at(clock), { ScheduleExpressionTimezone: 'Mars/Olympus' })))).rejects.toThrow(/Timezone/);
    await expect(sdk.send(new CreateScheduleCommand(base('bad-3', 'cron(0 12 * * ? *)')))).rejects.toThrow(/cron/);
    await expect(
      sdk.send(new CreateScheduleCommand({ ...base('bad-4', at(clock)), Target: { Arn: 'arn:aws:sqs:us-east-1:000000000000:q', RoleArn: ROLE } })),
    ).rejects.toBeInstanceOf(ValidationException);
  });

  it('fires a one-time schedule at its time (3-day wait, fake clock) and deletes it after completion', async () => {
    const due = clock + 3 * DAY;
    await sdk.send(new CreateScheduleCommand(base('wait-3d', at(due), { ActionAfterCompletion: 'DELETE' })));
    clock = due - 1_000;
    expect(await sched.tick()).toBe(0);
    expect(calls).toEqual([]);
    clock = due;
    expect(await sched.tick()).toBe(1);
    expect(await sched.drain(5_000)).toBe(true);
    expect(calls).toEqual([{ fn: 'journeys', payload: { wait: 'wait-3d', at: new Date(due).toISOString().replace('.000', '') } }]);
    await expect(sdk.send(new GetScheduleCommand({ Name: 'wait-3d' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    clock += DAY;
    expect(await sched.tick()).toBe(0);
    expect(calls).toHaveLength(1);
    calls.length = 0;
  });

  it('interprets at() in ScheduleExpressionTimezone and keeps completed schedules without DELETE', async () => {
    // 09:00 in New York on 2025-03-05 is 14:00 UTC (EST, UTC-5).
    await sdk.send(new CreateScheduleCommand(base('tz', 'at(2025-03-05T09:00:00)', { ScheduleExpressionTimezone: 'America/New_York' })));
    clock = Date.parse('2025-03-05T13:59:59Z');
    expect(await sched.tick()).toBe(0);
    clock = Date.parse('2025-03-05T14:00:00Z');
    expect(await sched.tick()).toBe(1);
    await sched.drain(5_000);
    expect(calls.map((c) => c.payload.wait)).toEqual(['tz']);
    expect((await sdk.send(new GetScheduleCommand({ Name: 'tz' }))).Name).toBe('tz'); // ActionAfterCompletion NONE keeps it
    clock += DAY;
    expect(await sched.tick()).toBe(0);
    calls.length = 0;
  });

  it('runs rate() schedules repeatedly until EndDate', async () => {
    const start = clock;
    await sdk.send(
      new CreateScheduleCommand(base('every-10m', 'rate(10 minutes)', { EndDate: new Date(start + 25 * 60_000), ActionAfterCompletion: 'DELETE' })),
    );
    for (let m = 1; m <= 40; m++) {
      clock = start + m * 60_000;
      await sched.tick();
    }
    await sched.drain(5_000);
    expect(calls.filter((c) => c.payload.wait === 'every-10m')).toHaveLength(2); // at +10 and +20 minutes
    await expect(sdk.send(new GetScheduleCommand({ Name: 'every-10m' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    calls.length = 0;
  });
});

describe('local scheduler durability', () => {
  it('fires, exactly once, a schedule that came due while the stack was down; future ones keep waiting', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-sched-restart-'));
    let clock = Date.parse('2025-06-01T00:00:00Z');
    const first = await startScheduler({
      dataDir,
      invoke: async () => {
        throw new Error('must not fire yet');
      },
      now: () => clock,
      tickMs: 0,
    });
    const sdk1 = client(first.endpoint);
    await sdk1.send(
      new CreateScheduleCommand({
        Name: 'due-while-down',
        ScheduleExpression: at(clock + 3600_000),
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: fnArn('resolve'), RoleArn: ROLE, Input: '{"k":1}' },
      }),
    );
    await sdk1.send(
      new CreateScheduleCommand({
        Name: 'later',
        ScheduleExpression: at(clock + 10 * DAY),
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: fnArn('resolve'), RoleArn: ROLE, Input: '{"k":2}' },
      }),
    );
    await first.close();

    clock += 2 * 3600_000; // the stack was down past the due time
    const calls: Call[] = [];
    const second = await startScheduler({ dataDir, invoke: async (fn, payload) => void calls.push({ fn, payload }), now: () => clock, tickMs: 0 });
    try {
      await second.drain(5_000);
      expect(calls).toEqual([{ fn: 'resolve', payload: { k: 1 } }]);
      expect(await second.tick()).toBe(0);
      const sdk2 = client(second.endpoint);
      expect((await sdk2.send(new ListSchedulesCommand({}))).Schedules?.map((s) => s.Name)).toEqual(['later']);
    } finally {
      await second.close();
    }

    const third = await startScheduler({ dataDir, invoke: async (fn, payload) => void calls.push({ fn, payload }), now: () => clock, tickMs: 0 });
    await third.drain(5_000);
    expect(calls).toHaveLength(1);
    expect(third.stats().schedules).toBe(1);
    await third.close();
  });
});

describe('local scheduler on the real clock', () => {
  it('fires by itself when the time comes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-sched-real-'));
    const calls: Call[] = [];
    const s = await startScheduler({ dataDir, invoke: async (fn, payload) => void calls.push({ fn, payload }), tickMs: 50 });
    try {
      const when = Math.ceil(Date.now() / 1000) * 1000 + 1000;
      await client(s.endpoint).send(
        new CreateScheduleCommand({
          Name: 'soon',
          ScheduleExpression: at(when),
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: { Arn: fnArn('tick'), RoleArn: ROLE, Input: '"hello"' },
        }),
      );
      const deadline = Date.now() + 5_000;
      while (!calls.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(calls).toEqual([{ fn: 'tick', payload: 'hello' }]);
      expect(Date.now()).toBeGreaterThanOrEqual(when);
    } finally {
      await s.close();
    }
  });
});
