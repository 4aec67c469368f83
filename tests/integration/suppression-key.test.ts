/**
 * Keyed suppression hashes on the local stack (issue 13; docs/privacy.md#the-suppression-list), as an
 * attacker and as an operator would try them:
 *
 * - An erasure still suppresses: a later message carrying the erased phone number in another
 *   spelling is dropped and counted, and the profile API answers 410.
 * - Nothing that leaves through the API carries a hash: the erasure request's 202 and the status
 *   route answer no `identifierHashes` (before: SHA-256 hashes anyone could test guesses against).
 * - A dump of the privacy table cannot be brute-forced: hashing candidate numbers the way Cairn
 *   did before (v1, unkeyed) matches no key or value in it; only the stack's key (read from its
 *   Secrets Manager, as the functions read it) reproduces its hashes.
 * - An upgraded stack: a v1 entry written before the key keeps suppressing its person (pipeline and
 *   API), and `npx cairn suppression rekey` moves it and its record to v2 — the table then holds no
 *   unkeyed hash — with the person still suppressed and the drop count carried over.
 */
import { describe, expect, it } from 'vitest';
import { PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient as doc } from '#shared/aws/clients';
import { TABLES } from '#shared/config/resources';
import { suppress, unkeyedSuppressionHash } from '#shared/suppression';
import { suppressionHasherFromEnv, suppressionRefreshMsFromEnv as refreshMs } from '#functions/env';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';

const stack = useLocalStack({
  name: 'suppression-key',
  functions: PIPELINE_FUNCTIONS,
  env: { CAIRN_LOG_LEVEL: 'error', CAIRN_SUPPRESSION_REFRESH_MS: '500' },
});
const HEX64 = /[0-9a-f]{64}/;
const phone = 'phone:+14155550123';
const t0 = Date.now() - 3_600_000;
let n = 0;
const ts = () => new Date(t0 + ++n * 1000).toISOString();

async function send(batch: Record<string, unknown>[]): Promise<void> {
  expect((await stack.collect(batch)).status).toBe(200);
  expect(await stack.drain(20_000)).toBe(true);
}
const settle = () => new Promise((r) => setTimeout(r, refreshMs() + 200));
const privacyItems = async () => (await doc().send(new ScanCommand({ TableName: TABLES.privacy.name, ConsistentRead: true }))).Items ?? [];
const supKeys = async () =>
  (await privacyItems())
    .map((i) => String(i.pk))
    .filter((k) => k.startsWith('sup#'))
    .map((k) => k.slice(4));

describe('keyed suppression hashes on the local stack', () => {
  it('an erasure suppresses; its 202 and status carry no hash; a table dump resists brute force without the key', async () => {
    await send([{ type: 'identify', userId: 'user-phone', messageId: 'p-1', timestamp: ts(), traits: { phone: '+1 415 555 0123', name: 'P' } }]);
    const del = await stack.admin('DELETE', `/v1/profiles/${encodeURIComponent(phone)}`);
    expect(del.status).toBe(202);
    expect(del.json).not.toHaveProperty('identifierHashes');
    expect(JSON.stringify(del.json)).not.toMatch(HEX64);
    const { erasureId } = del.json as { erasureId: string };

    // Still suppressed: a later message with the number written another way is dropped and counted.
    await settle();
    await send([
      { type: 'track', event: 'Viewed', anonymousId: 'anon-p', messageId: 'p-2', timestamp: ts(), context: { traits: { phone: '(415) 555-0123' } } },
    ]);
    const st = await stack.admin('GET', `/v1/erasures/${erasureId}`);
    expect(st.status).toBe(200);
    expect(st.json).toMatchObject({ erasureId, droppedMessages: 1 });
    expect(st.json).not.toHaveProperty('identifierHashes');
    expect(st.json).not.toHaveProperty('hashVersion');
    expect(JSON.stringify(st.json)).not.toMatch(HEX64);
    expect((await stack.profile('user_id:user-phone')).json.error).toMatchObject({ code: 'profile_erased', erasureId });

    // The dump: the erased number's hash is there, but nobody without the key can find which number it is.
    const dump = JSON.stringify(await privacyItems());
    const keys = await supKeys();
    const stackHash = await suppressionHasherFromEnv('test')();
    expect(keys).toContain(stackHash(phone));
    expect(keys).toContain(stackHash('user_id:user-phone'));
    const candidates = Array.from({ length: 2000 }, (_, i) => `phone:+1415555${String(i - 1000 + 123).padStart(4, '0')}`);
    expect(candidates).toContain(phone);
    expect(candidates.filter((c) => dump.includes(unkeyedSuppressionHash(c)))).toEqual([]);
    expect(dump).not.toContain(unkeyedSuppressionHash('user_id:user-phone'));
    expect(dump).not.toContain('4155550123');
    // The erasure record holds v2 hashes only, marked so.
    const rec = (await privacyItems()).find((i) => i.pk === `erasure#${erasureId}`)!;
    expect(rec.hashVersion).toBe(2);
    expect((rec.identifierHashes as string[]).sort()).toEqual([stackHash(phone), stackHash('user_id:user-phone')].sort());
  }, 90_000);

  it('an upgraded stack: a v1 (unkeyed) entry keeps suppressing until `cairn suppression rekey` moves it; then no unkeyed hash is left', async () => {
    // As the code before the suppression key wrote them: a sup# item without `kv`, its bucket entry,
    // and an erased record holding the v1 hash without `hashVersion`.
    const key = 'user_id:legacy-user';
    const v1 = unkeyedSuppressionHash(key);
    const at = new Date(Date.now() - 86_400_000).toISOString();
    await suppress(TABLES.privacy.name, [v1], 'legacy-erasure', at);
    await doc().send(new UpdateCommand({ TableName: TABLES.privacy.name, Key: { pk: `sup#${v1}` }, UpdateExpression: 'REMOVE kv' }));
    await doc().send(
      new PutCommand({
        TableName: TABLES.privacy.name,
        Item: {
          pk: 'erasure#legacy-erasure',
          erasureId: 'legacy-erasure',
          status: 'erased',
          requestedAt: at,
          suppressedAt: at,
          erasedAt: at,
          identifierHashes: [v1],
        },
      }),
    );
    await settle();

    // Before the re-key: dropped by its v1 form, refused by the API, counted on the status.
    await send([{ type: 'track', event: 'Viewed', userId: 'legacy-user', messageId: 'l-1', timestamp: ts() }]);
    expect((await stack.profile(key)).json.error).toMatchObject({ code: 'profile_erased', erasureId: 'legacy-erasure' });
    const before = await stack.admin('GET', '/v1/erasures/legacy-erasure');
    expect(before.json).toMatchObject({ droppedMessages: 1 });
    expect(JSON.stringify(before.json)).not.toMatch(HEX64);

    const r = await stack.cli(['suppression', 'rekey']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ identifiers: 1, records: 1 });
    const v2 = (await suppressionHasherFromEnv('test')())(key);
    const keys = await supKeys();
    expect(keys).not.toContain(v1);
    expect(keys).toContain(v2);
    const dump = JSON.stringify(await privacyItems());
    expect(dump).not.toContain(v1);
    const rec = (await privacyItems()).find((i) => i.pk === 'erasure#legacy-erasure')!;
    expect(rec).toMatchObject({ hashVersion: 2, identifierHashes: [v2] });

    // Still suppressed after the move, the drops counted before it kept.
    await settle();
    await send([{ type: 'track', event: 'Viewed', userId: 'legacy-user', messageId: 'l-2', timestamp: ts() }]);
    expect((await stack.profile(key)).json.error).toMatchObject({ code: 'profile_erased', erasureId: 'legacy-erasure' });
    expect((await stack.admin('GET', '/v1/erasures/legacy-erasure')).json).toMatchObject({ droppedMessages: 2 });
    // Idempotent.
    const again = await stack.cli(['suppression', 'rekey']);
    expect(JSON.parse(again.out)).toEqual({ identifiers: 0, records: 0 });
  }, 90_000);
});
