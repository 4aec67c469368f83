/**
 * Privacy commands (docs/privacy.md, docs/cli.md):
 *   npx cairn erase <identifier> [--wait] [--timeout <s>] [--full-scan]
 *                                                            DELETE /v1/profiles/{identifier}, then (with --wait) the status until erased
 *   npx cairn erase --full-scan                             a λ erase run with {"fullScan": true} for the pending erasures
 *   npx cairn profile export <identifier> [--out <file>]    GET /v1/profiles/{identifier}/export (JSON)
 *
 * With --wait on the local stack, a one-time run of λ erase is scheduled in the local scheduler at
 * the end of the settle time (same target as the recurring SCHEDULES.erasure), so the wait is about
 * SETTLE_SECONDS instead of up to a schedule period; on AWS the recurring schedule does it.
 * A run that leaves lake objects failed (`lakeFailures` on the status, docs/privacy.md "When a lake
 * object fails") ends the wait: the keys and codes go to stderr, the record to stdout, exit 1.
 *
 * `--full-scan` (lake data written before the lake index existed, docs/privacy.md) asks for a λ erase
 * run with `{"fullScan": true}`: locally a one-time schedule in the local scheduler (at the end of
 * the new erasure's settle time, or now without an identifier); on AWS an asynchronous invocation of
 * the stack's `EraseFunctionName` output (the caller needs lambda:InvokeFunction), after the settle
 * time when an identifier was given (the CLI waits for it).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CreateScheduleCommand, GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CairnError } from '#shared/errors';
import { SCHEDULES } from '#shared/config';
import { SETTLE_SECONDS, type ErasureStoreReport } from '#shared/privacy';
import { adminGet, adminSend, answerError, type Target } from './http';
import { describeStackOutputs, invokeAsync } from './aws';
import { pathParam } from '#shared/http';
import { sleep as realSleep } from '#shared/lang';
import { emulatorConfig } from '#shared/aws/emulators';

export interface PrivacyCliDeps {
  target(cmd: Command): Promise<Target>;
  stdout(s: string): void;
  stderr(s: string): void;
  cwd: string;
  sleep?: (ms: number) => Promise<void>;
}

const checkIdentifier = (identifier: string) => {
  const i = identifier.indexOf(':');
  if (i <= 0 || i === identifier.length - 1)
    throw new CairnError('usage', `identifier must be type:value (e.g. email:ada@example.com), got ${JSON.stringify(identifier)}`, 400);
};
const authError = (status: number) => new CairnError('unauthorized', `${status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN)`, status);

/** A lake object λ erase could not process (the status's `lakeFailures`: key, step, code; never personal data). */
interface LakeFailureView {
  key: string;
  operation?: string;
  code: string;
  error?: string;
  httpStatus?: number;
  since?: string;
}
interface ErasureStatusView {
  status: string;
  lakeFailures?: LakeFailureView[];
  /** Every failed object, when more than the `lakeFailures` listed. */
  lakeObjectsFailed?: number;
  /** Where the person's data can rest and what was done there (docs/privacy.md). */
  stores?: ErasureStoreReport[];
}

/** One line per store of the status: what was removed there, when it expires, or that it holds no identifier. */
export function formatStores(v: ErasureStatusView): string {
  const width = Math.max(0, ...(v.stores ?? []).map((s) => s.store.length));
  return (v.stores ?? [])
    .map((s) => {
      const what =
        s.outcome === 'erased'
          ? `erased: ${s.removed} ${s.unit}${s.objects !== undefined ? ` in ${s.objects} object(s)` : ''}${s.expiresBy ? `; the rest expires by ${s.expiresBy}` : ''}`
          : s.outcome === 'expires'
            ? `expires by ${s.expiresBy}`
            : s.outcome === 'no_identifiers'
              ? 'holds no identifiers'
              : `pending${s.removed !== undefined ? ` (${s.removed} ${s.unit} so far)` : ''}`;
      return `  ${s.store.padEnd(width)}  ${what}\n`;
    })
    .join('');
}

/** One line per failed object: code, step, key, and S3's error name and status when there was one. */
export function formatLakeFailures(v: ErasureStatusView): string {
  const list = v.lakeFailures ?? [];
  const lines = list.map(
    (f) =>
      `  ${f.code}  ${f.operation ?? '?'}  ${f.key}${f.error ? `  (${f.error}${f.httpStatus ? ` ${f.httpStatus}` : ''})` : ''}${f.since ? `  since ${f.since}` : ''}\n`,
  );
  const more = (v.lakeObjectsFailed ?? list.length) - list.length;
  return lines.join('') + (more > 0 ? `  … and ${more} more (only the first ${list.length} are listed)\n` : '');
}

/** The λ erase payload of a run asked for from the CLI. */
export function erasePayload(erasureId: string | undefined, fullScan: boolean): Record<string, unknown> {
  return { ...(erasureId ? { erasureIds: [erasureId] } : {}), ...(fullScan ? { fullScan: true } : {}) };
}

/**
 * A full-scan λ erase run: locally a one-time schedule at `atMs` (the local scheduler invokes λ erase
 * through the stack); on AWS, at `atMs` (waiting until then), an asynchronous invocation of the
 * stack's λ erase (output EraseFunctionName).
 */
async function requestFullScan(
  t: Target,
  erasureId: string | undefined,
  atMs: number,
  deps: PrivacyCliDeps,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  if (t.kind === 'local') {
    if (!(await scheduleLocalRun(t, erasureId ?? `full-scan-${Date.now()}`, atMs, erasePayload(erasureId, true)))) {
      throw new CairnError('erase_run_failed', `could not schedule a full-scan λ erase run in the local stack's scheduler at ${t.baseUrl}`, 503);
    }
    deps.stderr(`full-scan erasure run scheduled for ${new Date(atMs).toISOString()}\n`);
    return;
  }
  const outputs = await describeStackOutputs(t.stackName!, t.aws ?? {});
  const fn = outputs.EraseFunctionName;
  if (!fn) throw new CairnError('stack_output_missing', `stack ${t.stackName} has no EraseFunctionName output (deploy the current stack)`, 404);
  if (atMs > Date.now()) {
    deps.stderr(`waiting ${Math.ceil((atMs - Date.now()) / 1000)} s (the settle time) before the full-scan run\n`);
    await sleep(atMs - Date.now());
  }
  await invokeAsync(fn, erasePayload(erasureId, true), t.aws ?? {});
  deps.stderr(`full-scan erasure run started (λ ${fn}, asynchronous)\n`);
}

/** Schedules a one-time λ erase run in the local scheduler for this erasure (best effort: the recurring schedule runs it anyway). */
async function scheduleLocalRun(t: Target, erasureId: string, atMs: number, payload: Record<string, unknown> = { erasureIds: [erasureId] }): Promise<boolean> {
  try {
    const endpoints = (await (await fetch(`${t.baseUrl}/_aws/endpoints`)).json()) as { scheduler?: string };
    if (!endpoints.scheduler) return false;
    const sdk = new SchedulerClient({ ...emulatorConfig('scheduler', endpoints.scheduler), maxAttempts: 1 });
    const recurring = await sdk.send(new GetScheduleCommand({ Name: SCHEDULES.erasure.name }));
    if (!recurring.Target?.Arn || !recurring.Target.RoleArn) return false;
    await sdk.send(
      new CreateScheduleCommand({
        Name: `cairn-erasure-${erasureId}`.slice(0, 64),
        ScheduleExpression: `at(${new Date(Math.ceil(atMs / 1000) * 1000).toISOString().slice(0, 19)})`,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: recurring.Target.Arn, RoleArn: recurring.Target.RoleArn, Input: JSON.stringify(payload) },
      }),
    );
    return true;
  } catch {
    return false;
  }
}

export function registerPrivacyCommands(program: Command, profile: Command, deps: PrivacyCliDeps): void {
  const sleep = deps.sleep ?? realSleep;
  program
    .command('erase')
    .description('erase a person (GDPR Art. 17): suppress their identifiers now, erase profiles, graph, journeys and lake rows (docs/privacy.md)')
    .argument('[identifier]', 'type:value, e.g. email:ada@example.com (optional with --full-scan)')
    .option('--wait', 'wait until the erasure is complete')
    .option('--timeout <seconds>', 'with --wait: give up after this long', String(SETTLE_SECONDS + 900))
    .option(
      '--full-scan',
      'erase from every lake object (data written before the lake index existed), not only the indexed ones: a λ erase run with {"fullScan":true}',
    )
    .action(async (identifier: string | undefined, o: { wait?: boolean; timeout: string; fullScan?: boolean }, cmd: Command) => {
      if (identifier === undefined) {
        if (!o.fullScan)
          throw new CairnError('usage', 'erase needs an identifier (type:value), or --full-scan alone to run a full-scan pass for the pending erasures', 400);
        if (o.wait) throw new CairnError('usage', '--wait needs an identifier', 400);
        await requestFullScan(await deps.target(cmd), undefined, Date.now(), deps, sleep);
        deps.stdout(JSON.stringify({ fullScan: true, requested: true }) + '\n');
        return;
      }
      checkIdentifier(identifier);
      const timeoutMs = Number(o.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
        throw new CairnError('usage', `--timeout must be a positive number of seconds, got ${JSON.stringify(o.timeout)}`, 400);
      const t = await deps.target(cmd);
      const a = await adminSend(t, 'DELETE', `/v1/profiles/${pathParam(identifier)}`);
      if (a.status === 401 || a.status === 403) throw authError(a.status);
      if (a.status !== 202) throw answerError(a, 'erase request failed');
      const rec = a.json as { erasureId: string; status: string; statusUrl: string };
      deps.stderr(`erasure ${rec.erasureId}: identifiers suppressed; status ${rec.statusUrl}\n`);
      // The run can take the erasure only once it has settled (SETTLE_SECONDS after suppression).
      if (o.fullScan) await requestFullScan(t, rec.erasureId, Date.now() + SETTLE_SECONDS * 1000, deps, sleep);
      if (!o.wait) {
        deps.stdout(JSON.stringify(a.json, null, 2) + '\n');
        return;
      }
      if (t.kind === 'local' && !o.fullScan) await scheduleLocalRun(t, rec.erasureId, Date.now() + SETTLE_SECONDS * 1000);
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = await adminGet(t, rec.statusUrl);
        if (s.status !== 200) throw answerError(s, 'erasure status request failed');
        const v = s.json as ErasureStatusView;
        if (v.status === 'erased') {
          deps.stdout(JSON.stringify(v, null, 2) + '\n');
          if (v.stores?.length) deps.stderr(`erasure ${rec.erasureId} erased; where their data could rest:\n${formatStores(v)}`);
          return;
        }
        const failed = v.lakeFailures?.length ? (v.lakeObjectsFailed ?? v.lakeFailures.length) : 0;
        if (failed) {
          // A run has been and left objects it could not process: waiting longer only waits for the next
          // run, which fails the same way until the object is fixed (docs/privacy.md).
          deps.stdout(JSON.stringify(v, null, 2) + '\n');
          deps.stderr(`erasure ${rec.erasureId} is incomplete: ${failed} lake object(s) failed (code, step, key):\n${formatLakeFailures(v)}`);
          throw new CairnError(
            'erasure_incomplete',
            `erasure ${rec.erasureId} is incomplete (status ${v.status}): ${failed} lake object(s) failed; every other store is erased and the next erasure run retries them — fix or replace the objects listed (docs/privacy.md, "When a lake object fails"), then check ${rec.statusUrl}`,
            502,
          );
        }
        if (Date.now() > end)
          throw new CairnError(
            'erasure_timeout',
            `erasure ${rec.erasureId} is still ${v.status} after ${o.timeout} s (it completes on the next erasure run; check ${rec.statusUrl})`,
            504,
          );
        await sleep(5_000);
      }
    });

  profile
    .command('export')
    .description('export everything held on a person as JSON (GDPR Art. 20)')
    .argument('<identifier>', 'type:value')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (identifier: string, o: { out?: string }, cmd: Command) => {
      checkIdentifier(identifier);
      const t = await deps.target(cmd);
      const a = await adminGet(t, `/v1/profiles/${pathParam(identifier)}/export`);
      if (a.status === 404) throw new CairnError('profile_not_found', `no profile for ${identifier}`, 404);
      if (a.status === 401 || a.status === 403) throw authError(a.status);
      if (a.status !== 200) throw answerError(a, 'export request failed');
      const text = JSON.stringify(a.json, null, 2) + '\n';
      if (o.out) {
        writeFileSync(resolve(deps.cwd, o.out), text);
        deps.stderr(`wrote ${o.out}\n`);
      } else deps.stdout(text);
    });
}
