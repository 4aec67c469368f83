/**
 * Journey versions on the local stack, as a marketer works (docs/journeys.md#versions): the
 * walkthrough of examples/_versions applied with `npx cairn apply`, people signing up through the
 * collector, messages read from the outbox, waits fired by moving the scheduler's clock.
 *
 * v1, then v2 without the step Alice waits at: she finishes on v1 and gets v1's message; a refused
 * then accepted migration moves Carol from v2 to v3; a pause holds Dave's wait and the resume
 * delivers it; an archive ends Frank's run, counted; a rollback is a new version with v1's content;
 * a deleted journey's runs still end; the lake's journey_steps compares versions in one query, and
 * an erasure removes the person's rows from it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DescribeRuleCommand } from '@aws-sdk/client-eventbridge';
import { eventBridge } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { ruleName } from '#shared/journeys/rules';
import { localLakeDir, queryLocalLake } from '#cli/lake';
import { service as eventsService } from '#local/eventbridge/service';
import { services as outboxServices } from '#local/outbox/service';
import type { OutboxMessage } from '#local/outbox/server';
import { eraseDepsFromEnv } from '#functions/erase/deps';
import { runErasures } from '#shared/privacy';
import { useLocalStack } from '../support/stack';
import { clockedScheduler } from '../support/scheduler';
import { sleep, until as untilWithin } from '../support/wait';

const EXAMPLES = join(__dirname, '..', '..', 'examples', '_versions');
const file = (v: string) => join(EXAMPLES, `welcome-series.${v}.yaml`);
const ID = 'welcome-series';
const DAY = 86_400_000;
const tmp = mkdtempSync(join(tmpdir(), 'cairn-versions-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let clockOffset = 0;
const schedulerService = clockedScheduler(() => Date.now() + clockOffset, { tickMs: 100, retry: { baseDelayMs: 50 } }).service;
// λ journey re-reads the journey every 200 ms here (5 s by default): status changes reach it at once.
const stack = useLocalStack({
  name: 'journey-versions',
  services: [eventsService, schedulerService, ...outboxServices],
  env: { CAIRN_DEFINITIONS_TTL_MS: '200' },
});

const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean) => untilWithin(what, get, ok, 30_000);
const settle = () => sleep(1500);
const outbox = async (): Promise<OutboxMessage[]> => (await stack.admin<{ messages: OutboxMessage[] }>('GET', '/v1/outbox?limit=1000')).json.messages;
const mails = (name: string) => async () => (await outbox()).filter((m) => m.to.includes(`${name}@example.com`) && m.tags?.cairn_journey === ID);
const tips = async (name: string) => (await mails(name)()).filter((m) => m.subject === 'A tip to get started').map((m) => m.text);
const stats = async () => (await stack.admin('GET', `/v1/journeys/${ID}/stats`)).json;
const version = (s: any, n: number) => s.versions.find((v: any) => v.version === n);
const apply = (path: string) => stack.cli(['apply', path]);
const cli = (...args: string[]) => stack.cli(args);

/** A person signs up (with email consent) and gets the welcome email. */
async function signUp(name: string): Promise<void> {
  const userId = `${name}-v`;
  const ok = (r: { status: number }) => expect(r.status).toBe(200);
  ok(
    await stack.collect({ userId, traits: { firstName: name, email: `${name}@example.com` }, context: { consent: { email: true } } }, { path: '/v1/identify' }),
  );
  await settle();
  ok(await stack.collect({ userId, event: 'Signed Up', messageId: `${name}-signup`, timestamp: new Date().toISOString() }, { path: '/v1/track' }));
}
const welcomed = (name: string) => until(`the welcome email to ${name}`, mails(name), (m) => m.some((x) => !!x.subject?.startsWith('Welcome')));

describe('versioned journeys on the local stack', () => {
  it("v2 removes the step Alice waits at: she finishes on v1 with v1's tip; Bob, entering v2, gets v2's", async () => {
    const a1 = await apply(file('v1'));
    expect(a1.code, a1.err).toBe(0);
    expect(a1.out).toMatch(/created\s+journey\s+welcome-series \(version 1\)/);
    await signUp('alice');
    await welcomed('alice');

    const a2 = await apply(file('v2'));
    expect(a2.code, a2.err).toBe(0);
    expect(a2.out).toMatch(/updated\s+journey\s+welcome-series \(version 2\)/);
    await sleep(500);
    await signUp('bob');
    await welcomed('bob');

    clockOffset = DAY + 60_000; // v2's 1-day wait is over, v1's 2 days are not
    expect(
      await until(
        "bob's tip",
        () => tips('bob'),
        (t) => t.length > 0,
      ),
    ).toEqual(['Tip from version 2: invite a friend.']);
    await settle();
    expect(await tips('alice')).toEqual([]);
    clockOffset = 2 * DAY + 60_000;
    expect(
      await until(
        "alice's tip",
        () => tips('alice'),
        (t) => t.length > 0,
      ),
    ).toEqual(['Tip from version 1: complete your profile.']);

    // A run's completion is counted with its transition; a step's `sent` once the action is carried
    // out, just after (the effects follow the transition): wait for both.
    const s = await until(
      'both completed, both tips counted',
      stats,
      (x) => x.completed >= 2 && version(x, 1)?.steps?.tip?.sent >= 1 && version(x, 2)?.steps?.tip?.sent >= 1,
    );
    expect(version(s, 1)).toMatchObject({ entered: 1, completed: 1, exited: 0, active: 0, steps: { tip: { sent: 1 }, pause: { type: 'wait' } } });
    expect(version(s, 2)).toMatchObject({ entered: 1, completed: 1, exited: 0, active: 0, steps: { tip: { sent: 1 }, breather: { type: 'wait' } } });
    expect(s).toMatchObject({ version: 2, status: 'active', entered: 2, completed: 2 });

    const list = await stack.admin('GET', `/v1/journeys/${ID}/versions`);
    expect(list.json).toMatchObject({ journeyId: ID, current: 2, status: 'active' });
    expect(list.json.versions.map((v: any) => [v.version, v.current])).toEqual([
      [1, false],
      [2, true],
    ]);
    const one = await stack.admin('GET', `/v1/journeys/${ID}/versions/1`);
    expect(one.status).toBe(200);
    expect(one.json.definition.steps[1]).toEqual({ id: 'pause', wait: '2d' });
    expect((await stack.admin('GET', `/v1/journeys/${ID}/versions/9`)).json.error.code).toBe('journey_version_not_found');
  }, 120_000);

  it('a migration that would strand Carol is refused; the one that maps her wait moves her to v3, keeping her wake-up', async () => {
    clockOffset = 0;
    await signUp('carol'); // enters v2: waits 1 day at `breather`
    await welcomed('carol');
    const unmapped = join(tmp, 'v3-unmapped.yaml');
    writeFileSync(unmapped, readFileSync(file('v3'), 'utf8').replace('  map: { breather: rest }\n', ''));
    const refused = await apply(unmapped);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/migrate\.map\.breather: runs of version 2 waiting at "breather" have nowhere to go/);
    expect((await stack.admin('GET', `/v1/journeys/${ID}`)).json.version).toBe(2);

    const a3 = await apply(file('v3'));
    expect(a3.code, a3.err).toBe(0);
    expect(a3.out).toMatch(/updated\s+journey\s+welcome-series \(version 3; waiting runs of version 2 move to it\)/);
    clockOffset = DAY + 60_000; // her 1-day wait, not v3's 2 days
    expect(
      await until(
        "carol's tip",
        () => tips('carol'),
        (t) => t.length > 0,
      ),
    ).toEqual(['Tip from version 3: try the mobile app.']);
    const s = await until('carol completed on v3', stats, (x) => version(x, 3)?.completed >= 1);
    expect(version(s, 2)).toMatchObject({ entered: 2, migrated_out: 1, completed: 1, active: 0 }); // bob completed on v2 before
    expect(version(s, 3)).toMatchObject({ entered: 0, migrated_in: 1, completed: 1, active: 0 });
    expect((await stack.admin('GET', `/v1/journeys/${ID}/versions`)).json.versions[1]).toMatchObject({ version: 2, migratedTo: 3 });
  }, 120_000);

  it('a pause admits no one and holds Dave at his wait; the resume delivers his tip', async () => {
    clockOffset = 0;
    await signUp('dave'); // v3: waits 2 days at `rest`
    await welcomed('dave');
    const p = await cli('journey', 'pause', ID);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/paused journey welcome-series \(version 3\)/);
    const trigger = await eventBridge().send(new DescribeRuleCommand({ Name: ruleName(ID, 'trigger'), EventBusName: 'cairn' }));
    expect(trigger.State).toBe('DISABLED');
    // A trigger already in flight (the rule is off): counted `paused`, no one enters.
    await stack.collect({ userId: 'erin-v', traits: { email: 'erin@example.com' }, context: { consent: { email: true } } }, { path: '/v1/identify' });
    const erin = await until(
      'the profile erin',
      () => stack.profile('user_id:erin-v'),
      (p) => p.status === 200,
    );
    const { handler } = await import('#functions/journey/index');
    const r = await handler(
      {
        journeyId: ID,
        kind: 'trigger',
        event: {
          id: 'erin-evt',
          'detail-type': 'track',
          detail: { type: 'track', event: 'Signed Up', messageId: 'erin-signup', profile: { profileId: erin.json.profileId } },
        },
      },
      { invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cairn-journey' } as never,
    );
    expect(r.outcome).toBe('paused');

    clockOffset = 2 * DAY + 60_000; // Dave's wait ends while paused: held
    const held = await until('dave held', stats, (x) => version(x, 3)?.held >= 1);
    expect(version(held, 3)).toMatchObject({ held: 1, released: 0, paused: 1 });
    await settle();
    expect(await tips('dave')).toEqual([]);
    expect(await mails('erin')()).toEqual([]);

    clockOffset = 0; // the hold's re-check is a minute away now
    const res = await cli('journey', 'resume', ID);
    expect(res.code, res.err).toBe(0);
    expect((await eventBridge().send(new DescribeRuleCommand({ Name: ruleName(ID, 'trigger'), EventBusName: 'cairn' }))).State).toBe('ENABLED');
    clockOffset = 60 * 60_000; // the re-check comes: he goes on
    expect(
      await until(
        "dave's tip",
        () => tips('dave'),
        (t) => t.length > 0,
      ),
    ).toEqual(['Tip from version 3: try the mobile app.']);
    expect(version(await until('released', stats, (x) => version(x, 3)?.released >= 1), 3)).toMatchObject({ held: 1, released: 1 });
  }, 120_000);

  it("an archive ends Frank's waiting run, counted, sending nothing; a resume is refused", async () => {
    clockOffset = 0;
    await signUp('frank');
    await welcomed('frank');
    const a = await stack.admin('POST', `/v1/journeys/${ID}/archive`);
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ id: ID, status: 'archived', changed: true, version: 3 });
    expect(a.json.activeRuns).toBeGreaterThanOrEqual(1);
    await expect(eventBridge().send(new DescribeRuleCommand({ Name: ruleName(ID, 'trigger'), EventBusName: 'cairn' }))).rejects.toThrow();
    clockOffset = 2 * DAY + 60_000;
    const s = await until('frank archived', stats, (x) => version(x, 3)?.archived >= 1);
    expect(version(s, 3)).toMatchObject({ archived: 1, active: 0 });
    await settle();
    expect(await tips('frank')).toEqual([]);
    const st = await cli('journey', 'stats', ID, '--version', '3', '--format', 'json');
    expect(st.code, st.err).toBe(0);
    expect(JSON.parse(st.out)).toMatchObject({ version: 3, entered: 2, migrated_in: 1, completed: 2, archived: 1, held: 1, released: 1, active: 0 });
    const again = await stack.admin('POST', `/v1/journeys/${ID}/resume`);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('journey_archived');
  }, 120_000);

  it("a rollback applies v1 again: version 4 with v1's content, which George follows", async () => {
    clockOffset = 0;
    const r = await apply(file('v1'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/updated\s+journey\s+welcome-series \(version 4; same content as version 1\)/);
    await sleep(500);
    await signUp('george');
    await welcomed('george');
    clockOffset = 2 * DAY + 60_000;
    expect(
      await until(
        "george's tip",
        () => tips('george'),
        (t) => t.length > 0,
      ),
    ).toEqual(['Tip from version 1: complete your profile.']);
    const v = await cli('journey', 'versions', ID, '--format', 'json');
    expect(v.code, v.err).toBe(0);
    const versions = JSON.parse(v.out).versions;
    expect(versions.map((x: any) => [x.version, x.current, x.ended])).toEqual([
      [1, false, true],
      [2, false, true],
      [3, false, true],
      [4, true, false],
    ]);
    expect(versions[3].hash).toBe(versions[0].hash);
    expect(versions[3].sameAs).toEqual([1]);
  }, 120_000);

  it("deleting the journey never orphans Helen's run: it ends archived, its versions and counters stay", async () => {
    clockOffset = 0;
    await signUp('helen');
    await welcomed('helen');
    const d = await stack.admin('DELETE', `/v1/journeys/${ID}`);
    expect(d.status).toBe(200);
    expect(d.json).toMatchObject({ kind: 'journey', id: ID, deleted: true });
    expect((await stack.admin('GET', `/v1/journeys/${ID}`)).status).toBe(404);
    expect((await stack.admin<{ items: { id: string }[] }>('GET', '/v1/journeys')).json.items.map((i) => i.id)).not.toContain(ID);
    expect((await stack.admin('GET', `/v1/journeys/${ID}/versions`)).json).toMatchObject({ status: 'deleted', current: 4 });
    clockOffset = 2 * DAY + 60_000;
    const s = await until('helen archived', stats, (x) => version(x, 4)?.archived >= 1);
    expect(s.status).toBe('deleted');
    expect(version(s, 4)).toMatchObject({ entered: 2, completed: 1, archived: 1, active: 0 });
    await settle();
    expect(await tips('helen')).toEqual([]);
  }, 120_000);

  it('the lake compares versions in one query; its rows hold no address', async () => {
    const q = await until(
      'journey_steps rows of every version',
      () =>
        queryLocalLake(
          stack.dataDir,
          `select version, count(*) filter (where outcome = 'entered') as entered,
             count(*) filter (where action = 'email' and outcome = 'sent') as emails,
             count(*) filter (where outcome = 'archived') as archived
           from journey_steps where journey_id = '${ID}' group by version order by version`,
        ),
      (r) => r.rows.length === 4 && r.rows[3]![3] === 1,
    );
    expect(q.rows).toEqual([
      [1, 1, 2, 0],
      [2, 2, 3, 0],
      [3, 2, 4, 1],
      [4, 2, 3, 1],
    ]);
    const dir = join(localLakeDir(stack.dataDir), LAKE.journeyStepsPrefix);
    const objects = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('._S3rver_object'));
    // The rows came through the raw stream: λ normalize's batch objects, named after their shard and
    // first record (the counts above show each transition's rows once).
    expect(objects.length).toBeGreaterThan(0);
    for (const e of objects) {
      expect(e.name).toMatch(/^shardId-\d+-\d+\.json\.gz\._S3rver_object$/);
      expect(gunzipSync(readFileSync(join(e.parentPath, e.name))).toString('utf8')).not.toMatch(/@example\.com|alice|Tip from/);
    }
  }, 60_000);

  it("erasing Alice removes her journey_steps rows (the erasure finds their objects through her lake index); everyone else's stay", async () => {
    const rows = async (where: string) => Number((await queryLocalLake(stack.dataDir, `select count(*) from journey_steps where ${where}`)).rows[0]![0]);
    const alice = (await stack.profile('user_id:alice-v')).json.profileId as string;
    const mine = await rows(`profile_id = '${alice}'`);
    const others = await rows(`profile_id <> '${alice}'`);
    expect(mine).toBeGreaterThanOrEqual(5); // entered, welcome sent, waiting, elapsed, tip sent, completed
    expect((await stack.admin('DELETE', '/v1/profiles/user_id:alice-v')).status).toBe(202);
    const r = await runErasures(eraseDepsFromEnv(), { settleSeconds: 0 });
    expect(r.erased).toHaveLength(1);
    expect(await rows(`profile_id = '${alice}'`)).toBe(0);
    expect(await rows(`profile_id <> '${alice}'`)).toBe(others);
  }, 120_000);
});
