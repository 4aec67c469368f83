/**
 * Re-evaluation without a new event (docs/segments.md): one-time EventBridge Scheduler schedules
 * `cairn-recheck-<profileId>` (default group, deleted after they fire) that invoke λ recheck at the
 * time a profile's membership can next change by itself, and `cairn-recheck-sweep-…` schedules that
 * run a re-evaluation of every profile (after a segment is applied or deleted) in bounded pages;
 * `cairn-recheck-now-…` ones re-evaluate a profile about now (after an unmerge). Locally the same calls go to the local scheduler.
 */
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { createHash } from 'node:crypto';
import { scheduler } from '../aws/clients';

export const RECHECK_PREFIX = 'cairn-recheck-';

/** Where recheck schedules point (the functions read it from their environment). */
export interface RecheckTarget {
  /** λ recheck's ARN (CAIRN_RECHECK_TARGET_ARN; the CDK sets it, the local stack names it `cairn-recheck`). */
  arn: string;
  /** The role EventBridge Scheduler assumes to invoke it (CAIRN_RECHECK_ROLE_ARN; any ARN locally). */
  roleArn: string;
}

/** `at()` in UTC, rounded up to the next whole second. */
export function atExpression(ms: number): string {
  return `at(${new Date(Math.ceil(ms / 1000) * 1000).toISOString().slice(0, 19)})`;
}

export type RecheckEvent = { kind: 'profile'; profileId: string; due: number } | { kind: 'sweep'; reason: string; cursor?: string; started: number };

/** 4 hex characters per target: stacks (stages) sharing an account and region never share schedule names. */
const stackTag = (target: RecheckTarget) => createHash('sha256').update(target.arn).digest('hex').slice(0, 4);

/** `cairn-recheck-<tag>-<profileId>` (at most 64 characters). */
export const profileScheduleName = (target: RecheckTarget, profileId: string) =>
  `${RECHECK_PREFIX}${stackTag(target)}-${profileId.replace(/[^0-9A-Za-z\-_.]/g, '_')}`.slice(0, 64);

function scheduleParams(target: RecheckTarget, name: string, atMs: number, input: RecheckEvent) {
  return {
    Name: name,
    GroupName: 'default',
    ScheduleExpression: atExpression(atMs),
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' as const },
    ActionAfterCompletion: 'DELETE' as const,
    Target: {
      Arn: target.arn,
      RoleArn: target.roleArn,
      Input: JSON.stringify(input),
      RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86_400 },
    },
  };
}

const create = (target: RecheckTarget, name: string, atMs: number, input: RecheckEvent) =>
  scheduler().send(new CreateScheduleCommand(scheduleParams(target, name, atMs, input)));

async function upsert(target: RecheckTarget, name: string, atMs: number, input: RecheckEvent): Promise<void> {
  try {
    await create(target, name, atMs, input);
  } catch (e) {
    if (!(e instanceof ConflictException || (e as Error).name === 'ConflictException')) throw e;
    await scheduler().send(new UpdateScheduleCommand(scheduleParams(target, name, atMs, input)));
  }
}

/** Schedules (or moves) the profile's re-evaluation at `atMs`, at least one second from `now`. */
export function scheduleProfileRecheck(target: RecheckTarget, profileId: string, atMs: number, now = Date.now()): Promise<void> {
  const at = Math.max(atMs, now + 1000);
  return upsert(target, profileScheduleName(target, profileId), at, { kind: 'profile', profileId, due: atMs });
}

export async function cancelProfileRecheck(target: RecheckTarget, profileId: string): Promise<void> {
  try {
    await scheduler().send(new DeleteScheduleCommand({ Name: profileScheduleName(target, profileId), GroupName: 'default' }));
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException || (e as Error).name === 'ResourceNotFoundException')) throw e;
  }
}

/**
 * λ recheck of a profile about now, asked once per `key` (an unmerge: its survivor and start time):
 * `cairn-recheck-<tag>-now-<hash>`, only ever created — a second request with the same key finds it
 * there (or already run: then it runs again, which settles nothing new). The profile's own schedule
 * (its next window change) is left as it is.
 */
export async function requestProfileRecheck(target: RecheckTarget, profileId: string, key: string, now = Date.now()): Promise<void> {
  const name = `${RECHECK_PREFIX}${stackTag(target)}-now-${createHash('sha256').update(`${profileId}|${key}`).digest('hex').slice(0, 24)}`;
  try {
    await create(target, name, now + 1000, { kind: 'profile', profileId, due: now });
  } catch (e) {
    if (!(e instanceof ConflictException || (e as Error).name === 'ConflictException')) throw e;
  }
}

/** A sweep over every profile (or its continuation from `cursor`), starting about now. */
export function scheduleSweep(target: RecheckTarget, reason: string, opts: { cursor?: string; started?: number; now?: number } = {}): Promise<void> {
  const now = opts.now ?? Date.now();
  const started = opts.started ?? now;
  const name = `${RECHECK_PREFIX}${stackTag(target)}-sweep-${createHash('sha256')
    .update(`${reason}|${started}|${opts.cursor ?? ''}`)
    .digest('hex')
    .slice(0, 24)}`;
  return upsert(target, name, now + 1000, { kind: 'sweep', reason, started, ...(opts.cursor ? { cursor: opts.cursor } : {}) });
}
