/**
 * Segment membership and computed traits after an unmerge, on the local stack (collector → normalize
 * → resolve, the admin API, the local scheduler and λ recheck, the local bus): Ada and Bob bought once
 * each; a shared kiosk's anonymous id merges them into a repeat buyer. `npx cairn profile unmerge`
 * splits them: the merged profile leaves repeat-buyers (`segment.exited` on the bus, the members
 * index emptied), Bob's profile is evaluated on its own (a buyer again, his index row back, no second
 * `segment.entered`), and each profile's computed traits count only that person's orders.
 */
import { describe, expect, it } from 'vitest';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';
import { sleep, until } from '../support/wait';
import { recheckProfile } from '#shared/segments/recheck';
import { requestProfileRecheck } from '#shared/segments/schedule';
import { recheckDepsFromEnv } from '#functions/recheck/deps';
import { recheckTargetFromEnv } from '#functions/env';

const stack = useLocalStack({
  name: 'umseg',
  functions: [...PIPELINE_FUNCTIONS, 'recheck'],
  observe: ['segment.entered', 'segment.exited', 'profile.unmerged'],
  // Each λ reads the definitions the test applies at once (the default trusts a copy for 5 s).
  env: { CAIRN_DEFINITIONS_TTL_MS: '0' },
});
type Seen = { 'detail-type': string; detail: { segment?: string; profileId?: string; messageId?: string } };
const seen = (type: string, profileId?: string) =>
  (stack.observed as Seen[]).filter((e) => e['detail-type'] === type && (profileId === undefined || e.detail.profileId === profileId));
/**
 * Segment transitions of a profile since the `from`-th observed event, one per transition id
 * (`detail.messageId`): two appliers that publish the same transition from the same record (λ
 * recheck beside another applier of the profile) give both copies one id (docs/segments.md); a
 * transition published twice under two ids would count twice here.
 */
const transitionsOf = (profileId: string, from = 0) => {
  const ids = new Set<string>();
  const out: string[] = [];
  for (const e of (stack.observed as Seen[]).slice(from)) {
    if (e.detail.profileId !== profileId || !e['detail-type'].startsWith('segment.')) continue;
    expect(e.detail.messageId).toMatch(/^seg-/);
    if (ids.has(e.detail.messageId!)) continue;
    ids.add(e.detail.messageId!);
    out.push(`${e['detail-type']} ${e.detail.segment}`);
  }
  return out;
};
/** Transition ids observed so far. */
const transitionIds = () => new Set((stack.observed as Seen[]).filter((e) => e['detail-type'].startsWith('segment.')).map((e) => e.detail.messageId));
const members = async (segment: string) =>
  ((await stack.admin('GET', `/v1/segments/${segment}/members`)).json.members as { profileId: string }[]).map((m) => m.profileId).sort();
const at = (n: number) => new Date(Date.now() - 3_600_000 + n * 1000).toISOString();

async function send(...batch: Record<string, unknown>[]) {
  expect((await stack.collect(batch)).status).toBe(200);
  expect(await stack.drain(30_000)).toBe(true);
}

describe('unmerge recomputes segment membership and computed traits', () => {
  it('the merged profile leaves a segment it qualified for only through the other person; the split-off person is evaluated alone', async () => {
    for (const [path, def] of [
      ['/v1/computed-traits/orders', { kind: 'computedTrait', id: 'orders', event: 'Order Completed', aggregate: 'count' }],
      ['/v1/segments/buyers', { kind: 'segment', id: 'buyers', where: { event: 'Order Completed' } }],
      ['/v1/segments/repeat-buyers', { kind: 'segment', id: 'repeat-buyers', where: { event: 'Order Completed', count: { gte: 2 } } }],
    ] as const)
      expect((await stack.admin('PUT', path, def)).status).toBe(201);

    await send(
      { type: 'identify', messageId: 'ums-1', userId: 'ada', anonymousId: 'kiosk-1', traits: { name: 'Ada' }, timestamp: at(1) },
      { type: 'track', messageId: 'ums-2', userId: 'ada', event: 'Order Completed', properties: { total: 20 }, timestamp: at(2) },
    );
    await send(
      { type: 'identify', messageId: 'ums-3', anonymousId: 'bob-phone', traits: { email: 'bob@example.org', name: 'Bob' }, timestamp: at(3) },
      { type: 'track', messageId: 'ums-4', anonymousId: 'bob-phone', event: 'Order Completed', properties: { total: 30 }, timestamp: at(4) },
    );
    const ada0 = (await stack.profile('user_id:ada')).json.profileId as string;
    const bob0 = (await stack.profile('email:bob@example.org')).json.profileId as string;
    await until(
      'both in buyers',
      () => members('buyers'),
      (m) => m.length === 2,
    );

    // Bob signs up on the kiosk Ada used: the kiosk's anonymous id merges them, two orders.
    await send({ type: 'identify', messageId: 'ums-5', anonymousId: 'kiosk-1', traits: { email: 'bob@example.org' }, timestamp: at(5) });
    const merged = await until(
      'the merged profile in repeat-buyers',
      () => stack.profile('user_id:ada'),
      (r) => r.json.segments?.includes('repeat-buyers'),
    );
    const survivor = merged.json.profileId as string;
    const other = survivor === ada0 ? bob0 : ada0;
    expect((await stack.profile('email:bob@example.org')).json.profileId).toBe(survivor);
    expect(merged.json.computed.orders).toBe(2);
    await until(
      'segment.entered repeat-buyers for the merged profile',
      () => transitionsOf(survivor),
      (t) => t.includes('segment.entered repeat-buyers'),
    );
    expect(
      await until(
        'the members index after the merge',
        () => members('buyers'),
        (m) => m.length === 1,
      ),
    ).toEqual([survivor]);

    const mark = stack.observed.length;
    const c = await stack.cli(['profile', 'unmerge', 'email:bob@example.org', '--block', 'anonymous_id:kiosk-1', '--format', 'json']);
    expect(c.code, c.err).toBe(0);
    expect(JSON.parse(c.out)).toMatchObject({ survivor: { profileId: survivor }, merged: { profileId: other } });

    // Both profiles as each person alone: one order each, buyers, not repeat buyers.
    const ada = await stack.profile('user_id:ada');
    const bob = await stack.profile('email:bob@example.org');
    expect(bob.json.profileId).not.toBe(ada.json.profileId);
    for (const p of [ada, bob]) {
      expect(p.json.computed.orders).toBe(1);
      expect(p.json.segments).toEqual(['buyers']);
    }
    // What follows, through λ recheck: segment.exited for the merged profile, and the index.
    await until(
      'segment.exited repeat-buyers for the survivor',
      () => seen('segment.exited', survivor),
      (e) => e.length > 0,
    );
    expect(
      await until(
        'repeat-buyers emptied',
        () => members('repeat-buyers'),
        (m) => m.length === 0,
      ),
    ).toEqual([]);
    expect(
      await until(
        'both buyers again',
        () => members('buyers'),
        (m) => m.length === 2,
      ),
    ).toEqual([ada.json.profileId, bob.json.profileId].sort());
    expect(seen('profile.unmerged')).toHaveLength(1);
    // The split-off person got the buyers row back without a second segment.entered (entered before the merge).
    expect(transitionsOf(survivor, mark)).toEqual(['segment.exited repeat-buyers']);
    expect(transitionsOf(other, mark)).toEqual([]);
    expect(transitionsOf(other)).toContain('segment.entered buyers');

    // At least once: a retried unmerge asks λ recheck again under the same names (created once, a
    // second request is no error), and settling either profile again publishes nothing new — once the
    // first recheck has finished: its events and index rows come before its record of them (`segPub`),
    // and a second applier starting in between publishes the same exit again (two concurrent
    // appliers, docs/segments.md). So wait for the stack to be idle (λ recheck's invocation done).
    expect(await stack.drain(30_000)).toBe(true);
    const before = stack.observed.length;
    const known = transitionIds();
    for (let i = 0; i < 2; i++) for (const id of [survivor, other]) await requestProfileRecheck(recheckTargetFromEnv(), id, `${survivor}|retry`);
    for (const id of [survivor, other]) expect(await recheckProfile(id, recheckDepsFromEnv())).toEqual({ changed: false });
    await sleep(3000); // the requested rechecks have run
    // Nothing new: no event but a copy of a transition already published (same id).
    expect(stack.observed.slice(before).filter((e) => !known.has((e as Seen).detail.messageId))).toEqual([]);
  });
});
