/**
 * Coupons (docs/journeys.md#coupons), without AWS: codes (canonical form, check symbol, generation),
 * loads (refusals by row, duplicates across pools, a re-run skipping what is there), the pool's low
 * mark and status, the coupon step in the grammar and the rules, λ journey issuing a code and
 * rendering `{{ coupon.code }}`, an empty pool skipping with `no_coupon`, redemptions counted once and
 * flagged after, the CSV reader of `cairn coupons load`, and the lift's confidence interval.
 */
import { describe, expect, it } from 'vitest';
import { COUPONS } from '#shared/config/resources';
import {
  canonicalCode,
  checkSymbol,
  checkSymbolOk,
  codeProblem,
  generateCodes,
  generateInto,
  issueCoupon,
  loadCodes,
  poolStatus,
  redeemCoupon,
  CODE_ALPHABET,
} from '#shared/coupons';
import { MemoryCouponStore } from '#shared/coupons/memory-store';
import { parseDefinitions } from '#shared/definitions/parse';
import type { JourneyDef } from '#shared/definitions/types';
import type { BusEvent } from '#shared/identity/bus';
import type { ProfileRecord } from '#shared/identity/types';
import { currentOnly, handleJourney, type JourneyDeps } from '#shared/journeys/handler';
import { couponSender } from '#shared/journeys/actions/coupon';
import type { ActionInput } from '#shared/journeys/actions/types';
import { renderEmail } from '#shared/journeys/actions/email';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';
import { journeyRules } from '#shared/journeys/rules';
import { journeyStats } from '#shared/journeys/stats';
import { readCodes } from '#cli/coupons';
import { newcombe, wilson, withLiftInterval } from '#cli/reports';

const NOW = Date.parse('2025-03-01T10:00:00Z');

describe('codes', () => {
  it('canonical form: case, spaces and dashes do not matter, and O/I/L read as 0/1', () => {
    expect(canonicalCode(' spring-off ')).toBe('SPR1NG0FF');
    expect(canonicalCode('SPRING OFF')).toBe(canonicalCode('spr1ng0ff'));
    expect(codeProblem('SPRING-25')).toBeNull();
    expect(codeProblem('ab')).toMatch(/shorter than 3/);
    expect(codeProblem('50% OFF')).toMatch(/only letters/);
    expect(codeProblem('<b>x</b>')).toMatch(/only letters/);
    expect(codeProblem('x'.repeat(65))).toMatch(/longer than 64/);
    expect(codeProblem(42)).toMatch(/text/);
  });

  it('generated codes: 15 random base-32 symbols and a check symbol, all distinct; one mistyped symbol is recognised', () => {
    const codes = generateCodes(2000);
    expect(new Set(codes.map(canonicalCode)).size).toBe(2000);
    for (const c of codes.slice(0, 50)) {
      expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
      expect(checkSymbolOk(canonicalCode(c))).toBe(true);
      expect(codeProblem(c)).toBeNull();
    }
    // Every single substitution of every position of a code is caught by the check symbol.
    const c = canonicalCode(codes[0]!);
    for (let i = 0; i < c.length; i++)
      for (const x of CODE_ALPHABET) if (x !== c[i]) expect(checkSymbolOk(c.slice(0, i) + x + c.slice(i + 1)), `${i}:${x}`).toBe(false);
    // Most swaps of two neighbouring symbols too.
    let caught = 0;
    let swaps = 0;
    for (const code of codes.slice(0, 200).map(canonicalCode))
      for (let i = 0; i + 1 < code.length; i++)
        if (code[i] !== code[i + 1]) {
          swaps++;
          if (!checkSymbolOk(code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2))) caught++;
        }
    expect(caught / swaps).toBeGreaterThan(0.95);
  });

  it('the random symbols are the low 5 bits of the CSPRNG bytes (uniform: 256 is a multiple of 32)', () => {
    const [c] = generateCodes(1, (n) => Buffer.alloc(n, 0xff));
    expect(canonicalCode(c!).slice(0, 15)).toBe('Z'.repeat(15));
    expect(canonicalCode(c!).slice(15)).toBe(checkSymbol('Z'.repeat(15)));
  });
});

describe('loading pools', () => {
  it('refuses bad codes by index, loads the rest, skips what the pool already has, refuses codes of another pool', async () => {
    const store = new MemoryCouponStore();
    const r = await loadCodes(store, 'spring', ['SPRING-1', 'bad code!', 'spring-1', 'SPRING-2'], { now: NOW });
    expect(r).toMatchObject({ pool: 'spring', loaded: 2, alreadyLoaded: 0, size: 2, remaining: 2 });
    expect(r.refused).toEqual([
      { index: 1, code: 'bad code!', reason: expect.stringMatching(/only letters/) },
      { index: 2, code: 'spring-1', reason: 'the same code as #1 of this request' },
    ]);
    const again = await loadCodes(store, 'spring', ['SPRING-1', 'SPRING-2', 'SPRING-3'], { now: NOW });
    expect(again).toMatchObject({ loaded: 1, alreadyLoaded: 2, size: 3, refused: [] });
    const other = await loadCodes(store, 'summer', ['SPR1NG-2', 'SUMMER-1'], { now: NOW });
    expect(other.refused).toEqual([{ index: 0, code: 'SPR1NG-2', reason: 'already in pool spring' }]);
    expect(other.loaded).toBe(1);
    await expect(loadCodes(store, 'no pool!', ['X-1'], { now: NOW })).rejects.toMatchObject({ code: 'invalid_pool' });
    await expect(loadCodes(store, 'spring', new Array(COUPONS.maxCodesPerRequest + 1).fill('A-1'), { now: NOW })).rejects.toMatchObject({
      code: 'too_many_codes',
    });
  });

  it('one load at a time per pool; a crashed load’s lease runs out, and its codes are taken over by the next load', async () => {
    const store = new MemoryCouponStore();
    await store.lease('spring', 'crashed', NOW + COUPONS.loadLeaseMs, NOW);
    // The crashed load wrote a code item but never committed it.
    await store.putCode({ canonical: 'GH0ST1', code: 'GHOST-1', pool: 'spring', position: 0, loadedAt: '' }, null);
    await expect(loadCodes(store, 'spring', ['GHOST-1'], { now: NOW + 1000 })).rejects.toMatchObject({ code: 'coupon_pool_busy', status: 409 });
    const r = await loadCodes(store, 'summer', ['GHOST-1'], { now: NOW + COUPONS.loadLeaseMs + 1 });
    expect(r).toMatchObject({ loaded: 1, refused: [] });
    expect((await loadCodes(store, 'spring', ['GHOST-1'], { now: NOW + COUPONS.loadLeaseMs + 2 })).refused[0]?.reason).toBe('already in pool summer');
  });

  it('generate: new codes into the pool, returned once; the status counts them', async () => {
    const store = new MemoryCouponStore();
    const g = await generateInto(store, 'gifts', 30, { now: NOW, lowAt: 5 });
    expect(g.codes).toHaveLength(30);
    expect(g).toMatchObject({ loaded: 30, size: 30 });
    await expect(generateInto(store, 'gifts', 0, { now: NOW })).rejects.toMatchObject({ code: 'too_many_codes' });
    const s = await poolStatus(store, 'gifts', NOW);
    expect(s).toMatchObject({ pool: 'gifts', codes: 30, generated: 30, issued: 0, remaining: 30, lowAt: 5, low: false, redeemed: 0, loading: false });
    await expect(poolStatus(store, 'nope', NOW)).rejects.toMatchObject({ code: 'coupon_pool_not_found', status: 404 });
  });
});

describe('issuing', () => {
  const to = (run: string) => ({ journeyId: 'j', stepId: 'gift', runId: run, profileId: `p-${run}` });

  it('one code per run and step, the same on a retry; low at the mark; empty once every position is taken; no pool', async () => {
    const store = new MemoryCouponStore();
    await loadCodes(store, 'spring', ['S-0001', 'S-0002', 'S-0003', 'S-0004', 'S-0005', 'S-0006', 'S-0007', 'S-0008', 'S-0009', 'S-0010'], { now: NOW });
    const a = await issueCoupon(store, 'spring', to('r1'), NOW);
    expect(a).toMatchObject({ status: 'issued', code: 'S-0001', fresh: true, remaining: 9, low: false });
    expect(await issueCoupon(store, 'spring', to('r1'), NOW)).toMatchObject({ status: 'issued', code: 'S-0001', fresh: false });
    for (let i = 2; i <= 8; i++) await issueCoupon(store, 'spring', to(`r${i}`), NOW);
    // 10 codes, low mark 10 % = 1: the 9th issue leaves 1.
    expect(await issueCoupon(store, 'spring', to('r9'), NOW)).toMatchObject({ code: 'S-0009', remaining: 1, low: true });
    await issueCoupon(store, 'spring', to('r10'), NOW);
    expect(await issueCoupon(store, 'spring', to('r11'), NOW)).toEqual({ status: 'empty', pool: 'spring' });
    // The run stays "empty" even once codes arrive: every attempt of one step gives one answer.
    await loadCodes(store, 'spring', ['S-0011'], { now: NOW });
    expect(await issueCoupon(store, 'spring', to('r11'), NOW)).toEqual({ status: 'empty', pool: 'spring' });
    expect(await issueCoupon(store, 'spring', to('r12'), NOW)).toMatchObject({ status: 'issued', code: 'S-0011' });
    expect(await issueCoupon(store, 'winter', to('r99'), NOW)).toEqual({ status: 'no_pool', pool: 'winter' });
  });

  it('a code redeemed before any journey issued it (the shop handed it out) is skipped', async () => {
    const store = new MemoryCouponStore();
    await loadCodes(store, 'spring', ['S-0001', 'S-0002'], { now: NOW });
    expect((await redeemCoupon(store, 's-0001', 'j', { at: '2025-03-01T09:00:00Z', messageId: 'm0', profileId: 'px' })).status).toBe('redeemed');
    expect(await issueCoupon(store, 'spring', to('r1'), NOW)).toMatchObject({ status: 'issued', code: 'S-0002' });
    expect(await poolStatus(store, 'spring', NOW)).toMatchObject({ redeemed: 1, redeemedUnissued: 1, issued: 2, remaining: 0 });
  });
});

describe('redemptions', () => {
  it('once; again with another message is flagged; unknown and mistyped codes; another journey’s code is left to it', async () => {
    const store = new MemoryCouponStore();
    const g = await generateInto(store, 'gifts', 2, { now: NOW });
    await issueCoupon(store, 'gifts', { journeyId: 'j', stepId: 'gift', runId: 'r1', profileId: 'p1' }, NOW);
    const code = g.codes[0]!;
    const r = (m: string, c: string | undefined = code, journey = 'j') =>
      redeemCoupon(store, c, journey, { at: '2025-03-02T10:00:00Z', messageId: m, profileId: 'p1' });
    expect((await r('m1', code.toLowerCase().replace(/-/g, ' '))).status).toBe('redeemed');
    expect((await r('m1')).status).toBe('duplicate');
    expect((await r('m2')).status).toBe('redeemed_again');
    expect((await r('m2')).status).toBe('duplicate');
    expect((await r('m3', code, 'other')).status).toBe('other_journey');
    const typo = canonicalCode(code);
    const wrong = typo.slice(0, 3) + (typo[3] === 'X' ? 'Y' : 'X') + typo.slice(4);
    expect(await r('m4', wrong)).toEqual({ status: 'unknown', mistyped: true });
    expect(await r('m5', 'NOT-A-CODE')).toEqual({ status: 'unknown', mistyped: false });
    expect(await redeemCoupon(store, undefined, 'j', { at: '2025-03-02T10:00:00Z', messageId: 'm6', profileId: 'p1' })).toEqual({ status: 'no_code' });
    expect(store.codes.get(typo)).toMatchObject({ redeemedAt: '2025-03-02T10:00:00Z', redeemMessageId: 'm1', againIds: ['m2'] });
  });
});

// ------------------------------------------------------------------------------------------------
// The coupon step in journeys
// ------------------------------------------------------------------------------------------------

const JOURNEY = `
kind: journey
id: spring-gift
trigger: { event: Order Completed }
consent: email
holdout: 0%
steps:
  - id: gift
    action: coupon
    pool: spring
  - id: mail
    action: email
    subject: "A gift for you"
    body: "Use code {{ coupon.code }} at the till ({{ coupon.pool }})."
  - id: fallback
    action: email
    subject: "Thanks"
    body: "Your code: {{ coupon.code | default: \\"none today\\" }}"
`;

describe('the coupon step in the grammar', () => {
  it('action: coupon with a pool, an optional trait (default coupon_<pool>); {{ coupon.code }} and {{ coupon.pool }}', () => {
    const [j] = parseDefinitions(JOURNEY, 'j.yaml') as JourneyDef[];
    expect(j!.steps[0]).toMatchObject({ id: 'gift', type: 'action', action: 'coupon', pool: 'spring', trait: 'coupon_spring' });
    const [k] = parseDefinitions(JOURNEY.replace('pool: spring', 'pool: spring\n    trait: spring_code'), 'j.yaml') as JourneyDef[];
    expect(k!.steps[0]).toMatchObject({ trait: 'spring_code' });
  });

  it('rejects a bad pool, a bad trait, an unknown coupon field, and {{ coupon.* }} in a journey without a coupon step', () => {
    expect(() => parseDefinitions(JOURNEY.replace('pool: spring', 'pool: "spring pool"'), 'j.yaml')).toThrow(
      /steps\[0\]\.pool: "spring pool" is not a valid id/,
    );
    expect(() => parseDefinitions(JOURNEY.replace('pool: spring', 'pool: spring\n    trait: a.b'), 'j.yaml')).toThrow(
      /steps\[0\]\.trait: "a.b" is not a trait name/,
    );
    expect(() => parseDefinitions(JOURNEY.replace('{{ coupon.pool }}', '{{ coupon.value }}'), 'j.yaml')).toThrow(/coupon has the fields code, pool/);
    expect(() => parseDefinitions(JOURNEY.replace(/ {2}- id: gift\n {4}action: coupon\n {4}pool: spring\n/, ''), 'j.yaml')).toThrow(
      /steps\[0\]\.body: in step mail: \{\{ coupon\.code \}\} needs a coupon step in this journey/,
    );
    expect(() => parseDefinitions(JOURNEY.replace('pool: spring', 'pool: spring\n    code: X'), 'j.yaml')).toThrow(/steps\[0\]\.code: unknown field/);
  });

  it('a journey with a coupon step gets a coupon rule for Coupon Redeemed, enabled even when the journey is not', () => {
    const [j] = parseDefinitions(JOURNEY.replace('holdout: 0%', 'enabled: false'), 'j.yaml') as JourneyDef[];
    const rule = journeyRules(j!).find((r) => r.kind === 'coupon');
    expect(rule).toEqual({
      name: 'cairn-journey-spring-gift-coupon',
      kind: 'coupon',
      pattern: { source: ['cairn'], 'detail-type': ['track'], detail: { event: ['Coupon Redeemed'] } },
      state: 'ENABLED',
    });
    const [plain] = parseDefinitions(
      JOURNEY.replace(/ {2}- id: gift\n {4}action: coupon\n {4}pool: spring\n/, '').replace(/\{\{ coupon[^}]*\}\}/g, 'x'),
      'j.yaml',
    ) as JourneyDef[];
    expect(journeyRules(plain!).some((r) => r.kind === 'coupon')).toBe(false);
    // A version without the coupon step keeps the rule while an earlier live version's runs may hold its codes.
    expect(journeyRules(plain!, { during: [j!] }).find((r) => r.kind === 'coupon')).toEqual(rule);
  });
});

function profile(id: string, userId = id): ProfileRecord {
  const now = new Date(NOW).toISOString();
  return {
    profileId: id,
    version: 1,
    createdAt: now,
    updatedAt: now,
    identities: [
      { type: 'user_id', value: userId },
      { type: 'email', value: `${id}@example.com` },
    ],
    traits: { email: `${id}@example.com` },
    traitK: {},
    computed: { first_seen: now, last_seen: now, event_count: 1, order_count: 1 } as ProfileRecord['computed'],
    consent: { email: { granted: true, timestamp: now, source: 'context.consent', k: now } },
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

function world(def: JourneyDef) {
  const store = new MemoryJourneyStore();
  const coupons = new MemoryCouponStore();
  const mails: { to?: string; text: string }[] = [];
  const identifies: Record<string, unknown>[] = [];
  const published: BusEvent[] = [];
  const email = async (input: ActionInput) => {
    mails.push(renderEmail(input, 'shop@example.com'));
    return { status: 'sent' as const };
  };
  const none = async () => ({ status: 'sent' as const });
  const deps: JourneyDeps = {
    store,
    coupons,
    profiles: { get: async (id) => profile(id) },
    journey: async () => currentOnly(def),
    waits: { create: async () => {}, cancel: async () => {} },
    senders: {
      email,
      sms: none,
      webhook: none,
      traits: none,
      event: none,
      coupon: couponSender(coupons, async (m) => void identifies.push(m)),
    },
    publisher: { publish: async (events) => void published.push(...events) },
    now: () => NOW,
  };
  return { store, coupons, mails, identifies, published, deps };
}

const trigger = (journeyId: string, profileId: string) => ({
  journeyId,
  kind: 'trigger' as const,
  event: {
    id: `evt-${profileId}`,
    detail: { messageId: `m-${profileId}`, type: 'track', event: 'Order Completed', timestamp: new Date(NOW).toISOString(), profile: { profileId } },
  },
});
const redemption = (journeyId: string, profileId: string, code: string, messageId: string) => ({
  journeyId,
  kind: 'coupon' as const,
  event: {
    id: `evt-${messageId}`,
    detail: {
      messageId,
      type: 'track',
      event: 'Coupon Redeemed',
      timestamp: new Date(NOW + 3_600_000).toISOString(),
      properties: { code },
      profile: { profileId },
    },
  },
});

describe('λ journey: the coupon step', () => {
  const [def] = parseDefinitions(JOURNEY, 'j.yaml') as JourneyDef[];

  it('issues each person a distinct code, writes it on the profile, and the email shows it; a retried trigger sends nothing twice', async () => {
    const w = world(def!);
    await loadCodes(w.coupons, 'spring', ['SPRING-0001', 'SPRING-0002', 'SPRING-0003'], { now: NOW });
    expect((await handleJourney(trigger(def!.id, 'ada'), w.deps, 'arn:self')).outcome).toBe('entered');
    expect((await handleJourney(trigger(def!.id, 'bob'), w.deps, 'arn:self')).outcome).toBe('entered');
    expect((await handleJourney(trigger(def!.id, 'bob'), w.deps, 'arn:self')).outcome).toBe('duplicate');
    expect(w.mails.filter((m) => m.text.startsWith('Use code')).map((m) => [m.to, m.text])).toEqual([
      ['ada@example.com', 'Use code SPRING-0001 at the till (spring).'],
      ['bob@example.com', 'Use code SPRING-0002 at the till (spring).'],
    ]);
    expect(w.identifies).toEqual([
      expect.objectContaining({ userId: 'ada', type: 'identify', traits: { coupon_spring: 'SPRING-0001' } }),
      expect.objectContaining({ userId: 'bob', type: 'identify', traits: { coupon_spring: 'SPRING-0002' } }),
    ]);
    expect(w.identifies[0]).toMatchObject({
      context: { cairn: { journeyId: 'spring-gift', stepId: 'gift', coupon: { pool: 'spring', code: 'SPRING-0001' } } },
    });
    const s = await journeyStats(def!.id, w.store, async () => ({ definition: def! }));
    expect(s.steps.gift).toEqual({ type: 'coupon', sent: 2, failed: 0, skipped: 0, redeemed: 0, redeemed_again: 0 });
  });

  it('an empty pool skips the step (no_coupon) and every message that needs the code; one with a default is sent', async () => {
    const w = world(def!);
    await loadCodes(w.coupons, 'spring', ['SPRING-0001'], { now: NOW });
    await handleJourney(trigger(def!.id, 'ada'), w.deps, 'arn:self');
    await handleJourney(trigger(def!.id, 'bob'), w.deps, 'arn:self');
    expect(w.mails.map((m) => m.text)).toEqual([
      'Use code SPRING-0001 at the till (spring).',
      'Your code: SPRING-0001',
      // bob: no "Use code  at the till", the fallback's default instead.
      'Your code: none today',
    ]);
    const s = await journeyStats(def!.id, w.store, async () => ({ definition: def! }));
    expect(s.steps.gift).toMatchObject({ sent: 1, skipped: 1 });
    expect(s.steps.mail).toMatchObject({ sent: 1, skipped: 1 });
    expect(s.completed).toBe(2);
    const runs = [...w.store.ledger.values()].filter((l) => l.status === 'skipped').map((l) => [l.stepId, l.reason]);
    expect(runs).toEqual([
      ['gift', 'no_coupon'],
      ['mail', 'no_coupon'],
    ]);
  });

  it('a pool that does not exist fails the step (no_pool: alarmed), and messages needing the code are skipped', async () => {
    const w = world(def!);
    await handleJourney(trigger(def!.id, 'ada'), w.deps, 'arn:self');
    const s = await journeyStats(def!.id, w.store, async () => ({ definition: def! }));
    expect(s.steps.gift).toMatchObject({ sent: 0, failed: 1 });
    expect(s.steps.mail).toMatchObject({ sent: 0, skipped: 1 });
  });

  it('Coupon Redeemed: counted once for the step that issued the code; a second redemption is counted and flagged on the bus', async () => {
    const w = world(def!);
    await loadCodes(w.coupons, 'spring', ['SPRING-0001', 'SPRING-0002'], { now: NOW });
    await handleJourney(trigger(def!.id, 'ada'), w.deps, 'arn:self');
    const r = (code: string, m: string, j = def!.id) => handleJourney(redemption(j, 'ada', code, m), w.deps, 'arn:self').then((x) => x.outcome);
    expect(await r('spring-0001', 'red-1')).toBe('redeemed');
    expect(await r('SPRING-0001', 'red-1')).toBe('duplicate');
    expect(await r('SPRING-0001', 'red-2')).toBe('redeemed_again');
    expect(await r('SPRING-0002', 'red-3')).toBe('redeemed_unissued');
    expect(await r('NOPE-1', 'red-4')).toBe('unknown_code');
    const s = await journeyStats(def!.id, w.store, async () => ({ definition: def! }));
    expect(s.steps.gift).toMatchObject({ sent: 1, redeemed: 1, redeemed_again: 1 });
    expect(w.published.filter((e) => e.detailType === 'coupon.redeemed_again')).toEqual([
      {
        detailType: 'coupon.redeemed_again',
        detail: expect.objectContaining({
          journeyId: 'spring-gift',
          stepId: 'gift',
          pool: 'spring',
          code: 'SPRING-0001',
          messageId: 'red-2',
          firstMessageId: 'red-1',
        }),
        time: new Date(NOW + 3_600_000).toISOString(),
      },
    ]);
    expect(await poolStatus(w.coupons, 'spring', NOW)).toMatchObject({ redeemed: 2, redeemedAgain: 1, redeemedUnissued: 1 });
  });

  it('a redemption counts on the journey version whose step issued the code (docs/journeys.md#versions)', async () => {
    const w = world(def!);
    w.deps.journey = async () => currentOnly(def!, 3);
    await loadCodes(w.coupons, 'spring', ['SPRING-0001'], { now: NOW });
    await handleJourney(trigger(def!.id, 'ada'), w.deps, 'arn:self');
    expect(await w.coupons.getCode(canonicalCode('SPRING-0001'))).toMatchObject({ runId: expect.any(String), version: 3 });
    expect((await handleJourney(redemption(def!.id, 'ada', 'SPRING-0001', 'red-1'), w.deps, 'arn:self')).outcome).toBe('redeemed');
    const raw = await w.store.getStats(def!.id, [3]);
    expect(raw.get(3)).toMatchObject({ 'step#gift#sent': 1, 'step#gift#redeemed': 1 });
    expect(raw.get(0)?.['step#gift#redeemed']).toBeUndefined();
  });
});

describe('cairn coupons load: the CSV reader', () => {
  it('a code column by header, or one column without header; every bad row named, nothing loaded', () => {
    expect(readCodes('code,amount\r\nA-001,5\r\nA-002,5\r\n', 'c.csv')).toEqual([
      { line: 2, code: 'A-001' },
      { line: 3, code: 'A-002' },
    ]);
    expect(readCodes('A-001\nA-002\n\n', 'c.csv')).toEqual([
      { line: 1, code: 'A-001' },
      { line: 2, code: 'A-002' },
    ]);
    expect(readCodes('id;Voucher\n1;V-001\n', 'c.csv', 'voucher')).toEqual([{ line: 2, code: 'V-001' }]);
    expect(() => readCodes('id,voucher\n1,V-001\n', 'c.csv')).toThrow(/which column holds the codes/);
    expect(() => readCodes('code\nA-001\nbad code!\na 001\n"x\n', 'c.csv')).toThrow(
      /c\.csv: 3 bad row\(s\), nothing loaded: line 3: "bad code!": only letters.*; line 4: a 001: the same code as line 2; line 5: /,
    );
  });
});

describe('the lift’s confidence interval', () => {
  it('Wilson and Newcombe (hybrid score) reproduce the published examples', () => {
    // Newcombe 1998, Table II: 56/70 − 48/80 → 0.0524 to 0.3339; 9/10 − 3/10 → 0.1705 to 0.8090.
    const [lo, hi] = newcombe(56, 70, 48, 80)!;
    expect(lo).toBeCloseTo(0.0524, 4);
    expect(hi).toBeCloseTo(0.3339, 4);
    const [lo2, hi2] = newcombe(9, 10, 3, 10)!;
    expect(lo2).toBeCloseTo(0.1705, 4);
    expect(hi2).toBeCloseTo(0.809, 3);
    // Wilson for 0/10 stays inside [0, 1] (0 to 0.2775).
    const [w0, w1] = wilson(0, 10);
    expect(w0).toBe(0);
    expect(w1).toBeCloseTo(0.2775, 4);
    expect(newcombe(1, 2, 0, 0)).toBeNull();
  });

  it('adds ci95 rows after the lift row of a journey report', () => {
    const columns = ['section', 'item', 'people', 'converted', 'conversion_pct'].map((name) => ({ name, type: '' }));
    const out = withLiftInterval({
      columns,
      rows: [
        ['audience', 'treated', 80, 48, 60],
        ['audience', 'holdout', 70, 56, 80],
        ['lift', 'treated_minus_holdout_pct_points', null, null, -20],
        ['step', 'tag (traits)', 1, null, null],
      ],
    });
    expect(out.rows.slice(2, 5)).toEqual([
      ['lift', 'treated_minus_holdout_pct_points', null, null, -20],
      ['lift', 'ci95_low_pct_points', null, null, -33.4],
      ['lift', 'ci95_high_pct_points', null, null, -5.2],
    ]);
    expect(withLiftInterval({ columns, rows: [['audience', 'treated', 1, 1, 100]] }).rows).toHaveLength(1);
  });
});
