/**
 * `npx cairn erase --wait` on the local stack (docs/cli.md, docs/privacy.md "When a lake object fails"):
 *
 * - a run that cannot delete the person's lake object (an injected 403 on DeleteObject, as in
 *   privacy-lake-failures.test.ts) ends the wait at once: the failed key, step and code on stderr, the
 *   status record on stdout, exit code 1 and a one-line reason;
 * - once the object can be deleted, the next run completes that erasure, and a wait on an erasure
 *   without failures ends with the audit record and exit code 0.
 *
 * The erasure runs are started by the test (runErasures in this process, where the failure is
 * injected); this stack has no scheduler, so the CLI's one-time local run is not scheduled.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import { runErasures } from '#shared/privacy';
import { run } from '#cli/main';
import { DENY_DELETE, denyDelete } from '../support/s3-faults';
import { io as captureIo } from '../support/io';

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-cli-erase-'));

const t0 = Date.now() - 3_600_000;
let n = 0;
const ts = () => new Date(t0 + ++n * 1000).toISOString();

async function send(batch: Record<string, unknown>[]): Promise<void> {
  expect((await stack.collect(batch)).status).toBe(200);
  expect(await stack.drain(20_000)).toBe(true);
}

/** Keys of the events objects whose (decompressed) text contains `s`. */
async function keysHolding(s: string): Promise<string[]> {
  const page = await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: LAKE.eventsPrefix }));
  const out: string[] = [];
  for (const o of page.Contents ?? []) {
    const b = Buffer.from(await (await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: o.Key! }))).Body!.transformToByteArray());
    if ((b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b).toString('utf8').includes(s)) out.push(o.Key!);
  }
  return out;
}

/** Starts the CLI; `io.err` fills as it runs. */
function cli(...args: string[]) {
  const io = captureIo({ env: { ...process.env, CAIRN_ADMIN_TOKEN: 'dev-admin-token' } });
  return { io, done: run(['--port', String(stack.port), ...args], io) };
}

/** The erasure id the CLI announced on stderr once its DELETE was accepted. */
async function announced(io: { err: string }): Promise<string> {
  const end = Date.now() + 30_000;
  for (;;) {
    const m = /erasure (\S+): identifiers suppressed/.exec(io.err);
    if (m) return m[1]!;
    if (Date.now() > end) throw new Error(`the CLI announced no erasure: ${io.err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stack = useLocalStack({ dataDir, functions: PIPELINE_FUNCTIONS, env: { CAIRN_LOG_LEVEL: 'error' }, removeDataDir: true });
afterAll(() => {
  s3().middlewareStack.remove(DENY_DELETE);
});

describe('npx cairn erase --wait', () => {
  it('a run that leaves a lake object failed ends the wait: keys and codes printed, exit 1; a clean erasure ends with exit 0', async () => {
    // Dora's two messages share her partition key, so one events object holds only her rows (deleted, not rewritten).
    await send([
      { type: 'identify', userId: 'user-dora', messageId: 'd-1', timestamp: ts(), traits: { email: 'dora@example.com' } },
      { type: 'track', event: 'Viewed', userId: 'user-dora', messageId: 'd-2', timestamp: ts() },
    ]);
    await send([{ type: 'identify', userId: 'user-emil', messageId: 'e-1', timestamp: ts(), traits: { email: 'emil@example.com' } }]);
    const [doraOnly, ...others] = await keysHolding('"d-1"');
    expect(others).toEqual([]);
    expect(await keysHolding('"d-2"')).toEqual([doraOnly]);
    expect(await keysHolding('"e-1"')).not.toContain(doraOnly);

    const denied = denyDelete(doraOnly!);
    const dora = cli('erase', 'email:dora@example.com', '--wait', '--timeout', '120');
    const doraErasure = await announced(dora.io);
    const run1 = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 });
    expect(run1).toMatchObject({ incomplete: [doraErasure], lakeObjectsFailed: 1 });
    expect(denied.calls).toBe(1);

    expect(await dora.done).toBe(1);
    expect(dora.io.err).toContain(`erasure ${doraErasure} is incomplete: 1 lake object(s) failed`);
    // The failed object's line: code, step, key, S3's error name and status.
    expect(dora.io.err).toMatch(new RegExp(`\\n  lake_access_denied  delete  ${doraOnly!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  \\(AccessDenied 403\\)`));
    expect(dora.io.err).toMatch(/^error: erasure \S+ is incomplete \(status suppressed\): 1 lake object\(s\) failed; .*next erasure run retries/m);
    const printed = JSON.parse(dora.io.out);
    expect(printed).toMatchObject({ status: 'suppressed', lakeFailures: [{ key: doraOnly, operation: 'delete', code: 'lake_access_denied' }] });
    // Nothing personal in what the command printed.
    for (const pii of ['dora@example.com', 'user-dora']) expect(dora.io.out + dora.io.err).not.toContain(pii);

    // The object can be deleted now: the next run completes Dora's erasure; a wait on Emil's ends with exit 0.
    s3().middlewareStack.remove(DENY_DELETE);
    const emil = cli('erase', 'user_id:user-emil', '--wait', '--timeout', '120');
    const emilErasure = await announced(emil.io);
    const run2 = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 });
    expect([...run2.erased].sort()).toEqual([doraErasure, emilErasure].sort());
    expect(await emil.done).toBe(0);
    expect(JSON.parse(emil.io.out)).toMatchObject({ status: 'erased' });
    expect(JSON.parse(emil.io.out).lakeFailures).toBeUndefined();
    expect(emil.io.err).not.toContain('incomplete');
    // Every store, with what was done there (docs/privacy.md "Where a person's data can rest").
    expect(emil.io.err).toContain(`erasure ${emilErasure} erased; where their data could rest:`);
    expect(emil.io.err).toMatch(/\n {2}profiles +erased: 1 items\n/);
    expect(emil.io.err).toMatch(/\n {2}imports +expires by \d{4}-\d\d-\d\dT00:00:00\.000Z\n/);
    expect(emil.io.err).toMatch(/\n {2}api_access_logs +holds no identifiers\n/);
    expect(JSON.parse(emil.io.out).stores.map((x: { store: string }) => x.store)).toContain('failed_batches');
    expect(await keysHolding('"d-1"')).toEqual([]);
  }, 120_000);
});
