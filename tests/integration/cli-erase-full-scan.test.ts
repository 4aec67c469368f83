/**
 * `npx cairn erase --full-scan` on the local stack (docs/cli.md, docs/privacy.md "Data written before
 * the index existed"): the CLI creates a one-time schedule in the stack's scheduler whose target is
 * λ erase (taken from the recurring `cairn-erasure` schedule) with the payload {"fullScan":true};
 * when it fires, the stack runs λ erase with it. Without an identifier and without --full-scan the
 * command is refused (usage, exit 2). The scheduler's clock is the test's.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListSchedulesCommand, GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { useLocalStack } from '../support/stack';
import { clockedScheduler } from '../support/scheduler';
import { service as secretsService } from '#local/secretsmanager/service';
import { SCHEDULES } from '#shared/config/resources';
import { erasePayload } from '#cli/erase';
import { run } from '#cli/main';
import { io as captureIo } from '../support/io';

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-cli-erase-full-'));
let clock = Date.now();
const clocked = clockedScheduler(() => clock, { drainOnClose: true });
const schedulerService = clocked.service;
const stack = useLocalStack({
  dataDir,
  functions: ['admin', 'erase'],
  services: [schedulerService, secretsService],
  env: { CAIRN_LOG_LEVEL: 'error' },
  removeDataDir: true,
});

const cli = async (args: string[]) => {
  const io = captureIo({ env: { ...process.env, CAIRN_ADMIN_TOKEN: 'dev-admin-token' } });
  const code = await run(['--port', String(stack.port), ...args], io);
  return { code, ...io };
};

describe('npx cairn erase --full-scan', () => {
  it('the payload: fullScan, and the erasure id when one is given', () => {
    expect(erasePayload(undefined, true)).toEqual({ fullScan: true });
    expect(erasePayload('e1', true)).toEqual({ erasureIds: ['e1'], fullScan: true });
  });

  it('without an identifier it schedules a λ erase run with {"fullScan":true} now, which the stack runs', async () => {
    const r = await cli(['erase', '--full-scan']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ fullScan: true, requested: true });
    expect(r.err).toMatch(/full-scan erasure run scheduled/);
    const endpoints = (await (await fetch(`${stack.url}/_aws/endpoints`)).json()) as Record<string, string>;
    const sdk = new SchedulerClient({
      endpoint: endpoints.scheduler,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const names = ((await sdk.send(new ListSchedulesCommand({ NamePrefix: 'cairn-erasure-full-scan-' }))).Schedules ?? []).map((s) => s.Name!);
    expect(names).toHaveLength(1);
    const one = await sdk.send(new GetScheduleCommand({ Name: names[0]! }));
    const recurring = await sdk.send(new GetScheduleCommand({ Name: SCHEDULES.erasure.name }));
    expect(one.Target).toMatchObject({ Arn: recurring.Target!.Arn, Input: JSON.stringify({ fullScan: true }) });

    // Past the schedule's time, which the CLI took from the wall clock (however long the stack took to start).
    clock = Date.now() + 2_000;
    expect(await clocked.scheduler.tick()).toBeGreaterThanOrEqual(1);
    expect(await stack.drain(30_000)).toBe(true);
    expect(clocked.scheduler.stats()).toMatchObject({ deadLettered: 0 });
    expect(clocked.scheduler.stats().delivered).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('no identifier and no --full-scan: refused', async () => {
    const r = await cli(['erase']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/needs an identifier/);
  });
});
