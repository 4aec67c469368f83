/**
 * Coupons as a marketer runs them, on the local stack (collect → normalize → resolve → bus → λ
 * journey → outbox; the CLI through the admin API): load the example pool from its CSV, apply the
 * example journey, two first orders → two emails with two distinct codes of the pool, each code on
 * its person's profile; the same order delivered again issues nothing; one code redeemed (once, then
 * flagged on a second redemption, on the bus too); the pool's status and the journey's stats count
 * it; `cairn report journey` shows 2 issued, 1 redeemed; a pool that runs dry skips the coupon step
 * and the email that needs the code (`no_coupon`), counted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { eventBridge } from '#shared/aws/clients';
import { canonicalCode } from '#shared/coupons';
import { parseDefinitions } from '#shared/definitions/parse';
import { inHoldout } from '#shared/definitions/journey';
import type { JourneyDef } from '#shared/definitions/types';
import { service as eventsService } from '#local/eventbridge/service';
import { services as outboxServices } from '#local/outbox/service';
import type { OutboxMessage } from '#local/outbox/server';
import { useLocalStack } from '../support/stack';
import { clockedScheduler } from '../support/scheduler';
import { sleep, until as untilWithin } from '../support/wait';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const JOURNEY_FILE = join(EXAMPLES, 'coupons.yaml');
const CODES_FILE = join(EXAMPLES, 'coupon-codes.csv');
const journey = parseDefinitions(readFileSync(JOURNEY_FILE, 'utf8'), 'coupons.yaml')[0] as JourneyDef;
const poolCodes = readFileSync(CODES_FILE, 'utf8')
  .split(/\r?\n/)
  .slice(1)
  .filter(Boolean)
  .map((l) => l.split(',')[0]!);

const run = Date.now().toString(36);
const tmp = mkdtempSync(join(tmpdir(), 'cairn-coupons-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const stack = useLocalStack({
  name: 'coupons',
  services: [eventsService, clockedScheduler(() => Date.now(), { tickMs: 100 }).service, ...outboxServices],
  observe: ['coupon.redeemed_again'],
});

const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean) => untilWithin(what, get, ok, 30_000);
const cli = async (...args: string[]) => {
  const r = await stack.cli(args, { cwd: tmp });
  return r;
};
async function collect(body: Record<string, unknown>) {
  expect((await stack.collect(body, { path: `/v1/${body.type}` })).status).toBe(200);
}
const identify = (userId: string, firstName: string) =>
  collect({
    type: 'identify',
    userId,
    traits: { firstName, email: `${userId}@example.com` },
    context: { consent: { email: true } },
    messageId: `${userId}-i-${run}`,
    timestamp: new Date().toISOString(),
  });
const firstOrder = (userId: string) => ({
  type: 'track',
  userId,
  event: 'Order Completed',
  messageId: `${userId}-o1-${run}`,
  properties: { first_order: true, total: 40, order_id: `O-${userId}` },
  timestamp: new Date().toISOString(),
});
const redeem = (userId: string, code: string, n: number) =>
  collect({ type: 'track', userId, event: 'Coupon Redeemed', messageId: `${userId}-r${n}-${run}`, properties: { code }, timestamp: new Date().toISOString() });

const outbox = async (): Promise<OutboxMessage[]> => (await stack.admin<{ messages: OutboxMessage[] }>('GET', '/v1/outbox?limit=1000')).json.messages;
const mailsTo = async (addr: string, journeyId: string) => (await outbox()).filter((m) => m.to.includes(addr) && m.tags?.cairn_journey === journeyId);
const stats = async (id: string) => (await stack.admin('GET', `/v1/journeys/${id}/stats`)).json;
const status = async (pool: string) => JSON.parse((await cli('coupons', 'status', pool, '--format', 'json')).out);

/** People identified until `n` of them are outside the journey's holdout (10 %): their user and profile ids. */
async function treatedPeople(prefix: string, n: number, def: JourneyDef): Promise<{ user: string; profileId: string }[]> {
  const out: { user: string; profileId: string }[] = [];
  for (let i = 0; out.length < n; i++) {
    const user = `${prefix}${i}-${run}`;
    await identify(user, `${prefix}${i}`);
    const p = await until(
      `profile of ${user}`,
      () => stack.profile(`user_id:${user}`),
      (r) => r.status === 200 && r.json.consent?.email?.granted === true,
    );
    if (!inHoldout(def, p.json.profileId)) out.push({ user, profileId: p.json.profileId });
  }
  return out;
}

describe('coupons on the local stack', () => {
  let people: { user: string; profileId: string }[] = [];
  const codeOf = new Map<string, string>();

  it('loads the example pool from its CSV, and refuses a file with bad rows naming them', async () => {
    const bad = join(tmp, 'bad.csv');
    writeFileSync(bad, 'code\nGOOD-0001\nno good!\ngood-0001\n');
    const refused = await cli('coupons', 'load', 'welcome', bad);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/bad\.csv: 2 bad row\(s\), nothing loaded: line 3: "no good!": only letters.*; line 4: good-0001: the same code as line 2/);
    const r = await cli('coupons', 'load', 'welcome', CODES_FILE, '--format', 'json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ pool: 'welcome', loaded: poolCodes.length, alreadyLoaded: 0, size: poolCodes.length, refused: [] });
    // Run again (an interrupted load resumed): nothing twice.
    const again = JSON.parse((await cli('coupons', 'load', 'welcome', CODES_FILE, '--format', 'json')).out);
    expect(again).toMatchObject({ loaded: 0, alreadyLoaded: poolCodes.length, size: poolCodes.length });
    // The same code in another pool is refused by line.
    writeFileSync(join(tmp, 'other.csv'), `code\nOTHER-0001\n${poolCodes[0]!.toLowerCase()}\n`);
    const other = await cli('coupons', 'load', 'other', 'other.csv');
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/1 code\(s\) refused: line 3: .*: already in pool welcome/);
    expect(await status('welcome')).toMatchObject({ codes: poolCodes.length, issued: 0, remaining: poolCodes.length, lowAt: 1, low: false });
  }, 120_000);

  it('two first orders: two emails with two distinct codes of the pool, each code on its profile', async () => {
    const applied = await cli('apply', JOURNEY_FILE);
    expect(applied.code, applied.err).toBe(0);
    people = await treatedPeople('ada', 2, journey);
    for (const p of people) await collect(firstOrder(p.user));
    for (const p of people) {
      const [m] = await until(
        `the welcome email to ${p.user}`,
        () => mailsTo(`${p.user}@example.com`, journey.id),
        (x) => x.length === 1,
      );
      const code = /Use code (\S+) for 10% off/.exec(m!.text)?.[1];
      expect(poolCodes).toContain(code);
      expect(m!.subject).toMatch(/^Welcome, ada\d: a gift/);
      codeOf.set(p.user, code!);
    }
    expect(new Set(codeOf.values()).size).toBe(2);
    for (const p of people) {
      const prof = await until(
        `the code on ${p.user}'s profile`,
        () => stack.profile(`user_id:${p.user}`),
        (r) => r.json.traits?.coupon_welcome !== undefined,
      );
      expect(prof.json.traits.coupon_welcome).toBe(codeOf.get(p.user));
    }
    expect(await status('welcome')).toMatchObject({ issued: 2, remaining: poolCodes.length - 2 });
  }, 180_000);

  it('the same order delivered again (a retry on the bus) issues and sends nothing more', async () => {
    const p = people[0]!;
    const entry = {
      EventBusName: 'cairn',
      Source: 'cairn',
      DetailType: 'track',
      Detail: JSON.stringify({ ...firstOrder(p.user), profile: { profileId: p.profileId } }),
    };
    for (let k = 0; k < 2; k++) expect((await eventBridge().send(new PutEventsCommand({ Entries: [entry] }))).FailedEntryCount ?? 0).toBe(0);
    await stack.drain(30_000);
    await sleep(1500);
    expect(await mailsTo(`${p.user}@example.com`, journey.id)).toHaveLength(1);
    expect(await status('welcome')).toMatchObject({ issued: 2 });
    expect((await stats(journey.id)).steps.gift).toMatchObject({ type: 'coupon', sent: 2, skipped: 0, failed: 0 });
  }, 90_000);

  it('a redemption marks the code once; a second one is flagged (stats, pool status, bus); the report shows 2 issued, 1 redeemed', async () => {
    const p = people[0]!;
    const code = codeOf.get(p.user)!;
    // Typed at the till in lower case, with spaces for dashes: the same code.
    await redeem(p.user, code.toLowerCase().replace(/-/g, ' '), 1);
    await until(
      'the redemption counted',
      () => stats(journey.id),
      (s) => s.steps.gift.redeemed === 1,
    );
    await redeem(p.user, code, 2);
    const s = await until(
      'the second redemption flagged',
      () => stats(journey.id),
      (x) => x.steps.gift.redeemed_again === 1,
    );
    expect(s.steps.gift).toEqual({ type: 'coupon', sent: 2, failed: 0, skipped: 0, redeemed: 1, redeemed_again: 1 });
    expect(await status('welcome')).toMatchObject({ issued: 2, redeemed: 1, redeemedAgain: 1 });
    const flagged = await until(
      'coupon.redeemed_again on the bus',
      async () => stack.observed.filter((e) => e['detail-type'] === 'coupon.redeemed_again'),
      (x) => x.length === 1,
    );
    expect(flagged[0]!.detail).toMatchObject({
      journeyId: journey.id,
      stepId: 'gift',
      pool: 'welcome',
      code,
      issuedTo: p.profileId,
      messageId: `${p.user}-r2-${run}`,
    });
    expect(canonicalCode(flagged[0]!.detail.code)).toBe(canonicalCode(code));

    await stack.drain(30_000);
    const r = await cli('--data-dir', stack.dataDir, 'report', 'journey', journey.id, '--format', 'json');
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as { section: string; item: string; people: number | null; converted: number | null; conversion_pct: number | null }[];
    expect(rows.find((x) => x.item === 'gift (coupon)')).toEqual({ section: 'coupon', item: 'gift (coupon)', people: 2, converted: 1, conversion_pct: 50 });
    expect(rows.find((x) => x.item === 'gift redeemed_more_than_once')).toMatchObject({ people: 1 });
    const hours = rows.find((x) => x.item === 'gift median_hours_to_redeem')!.conversion_pct;
    expect(hours).toBeGreaterThanOrEqual(0);
    expect(hours).toBeLessThan(1);
    expect(rows.find((x) => x.item === 'gift (coupon) issued')).toEqual({
      section: 'runtime',
      item: 'gift (coupon) issued',
      people: 2,
      converted: 1,
      conversion_pct: 50,
    });
    expect(rows.find((x) => x.item === 'gift (coupon) redeemed_again')).toMatchObject({ people: 1 });
  }, 120_000);

  it('a pool that runs dry: the coupon step and the email needing the code are skipped (no_coupon) and counted', async () => {
    const tiny = readFileSync(JOURNEY_FILE, 'utf8')
      .replace('id: welcome-coupon', 'id: tiny-coupon')
      .replace('pool: welcome', 'pool: tiny')
      .replace('holdout: 10%', 'holdout: 0%')
      .replace('properties.first_order: true', 'properties.tiny: true');
    writeFileSync(join(tmp, 'tiny.yaml'), tiny);
    expect((await cli('apply', 'tiny.yaml')).code).toBe(0);
    expect((await cli('coupons', 'generate', 'tiny', '--count', '1', '--out', 'tiny-codes.csv')).code).toBe(0);
    const [generated] = readFileSync(join(tmp, 'tiny-codes.csv'), 'utf8').split(/\r?\n/).slice(1);
    expect(generated).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    for (const u of ['tina', 'tom']) {
      await identify(`${u}-${run}`, u);
      await until(
        `profile of ${u}`,
        () => stack.profile(`user_id:${u}-${run}`),
        (r) => r.status === 200 && r.json.consent?.email?.granted === true,
      );
    }
    await collect({
      type: 'track',
      userId: `tina-${run}`,
      event: 'Order Completed',
      messageId: `tina-t-${run}`,
      properties: { tiny: true },
      timestamp: new Date().toISOString(),
    });
    await until(
      "tina's email",
      () => mailsTo(`tina-${run}@example.com`, 'tiny-coupon'),
      (x) => x.length === 1,
    );
    await collect({
      type: 'track',
      userId: `tom-${run}`,
      event: 'Order Completed',
      messageId: `tom-t-${run}`,
      properties: { tiny: true },
      timestamp: new Date().toISOString(),
    });
    const s = await until(
      'the dry pool counted',
      () => stats('tiny-coupon'),
      (x) => x.steps.gift.skipped === 1 && x.steps.mail.skipped === 1 && x.steps.mail.sent === 1,
    );
    expect(s.steps.gift).toMatchObject({ sent: 1, skipped: 1, failed: 0 });
    expect(s.steps.mail).toMatchObject({ sent: 1, skipped: 1, failed: 0 });
    expect((await mailsTo(`tina-${run}@example.com`, 'tiny-coupon'))[0]!.text).toContain(generated!);
    expect(await mailsTo(`tom-${run}@example.com`, 'tiny-coupon')).toHaveLength(0);
    expect(await status('tiny')).toMatchObject({ codes: 1, generated: 1, issued: 1, remaining: 0, low: true });
    // The metric is flushed when λ journey's invocation ends, after the stats it counted: wait for it.
    await until(
      'the no_coupon metric in the status',
      async () => JSON.stringify((await stack.admin('GET', '/v1/status')).json),
      (x) => /actions\.skipped_no_coupon/.test(x),
    );
  }, 120_000);
});
