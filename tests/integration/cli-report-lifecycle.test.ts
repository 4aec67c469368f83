/**
 * `cairn report lifecycle`, `cairn report journey` and `--html` over a real lake: gzip JSON Lines
 * objects put through a real s3rver, queried with DuckDB. Expected figures are worked out by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { eventObjectKey, profileObjectKey } from '#shared/lake';
import { inHoldout } from '#shared/definitions/journey';
import { run } from '#cli/main';
import { lakeProfile, lakeRow, putLakeObject } from '#tests/support/lake';
import { io } from '../support/io';

const JOURNEY = `
kind: journey
id: coupon-test
name: Coupon <test> & "friends"
trigger:
  event: Order Completed
  where:
    properties.store_id: SH-001
    properties.total: { gte: 500 }
consent: none
holdout: 50%
exit: { event: Coupon Redeemed }
steps:
  - id: coupon
    action: email
    subject: hi
    body: hi
  - id: tag
    action: traits
    set: { coupon: true }
`;

/** Profile ids the runtime would put in (true) or out of (false) the holdout of coupon-test. */
function profileIds(holdout: boolean, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (inHoldout({ id: 'coupon-test', holdout: 50 }, `p-${i}`) === holdout) out.push(`p-${i}`);
  return out;
}

describe('cairn report lifecycle / journey / --html over the local lake (DuckDB)', () => {
  let emu: Emulators;
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-cli-report-lc-'));
  const definition = join(dataDir, 'journey.yaml');

  async function report(...args: string[]): Promise<Record<string, unknown>[]> {
    const c = io();
    const code = await run(['--data-dir', dataDir, 'report', ...args, '--format', 'json'], c);
    expect(c.err).toBe('');
    expect(code).toBe(0);
    return JSON.parse(c.out) as Record<string, unknown>[];
  }

  beforeAll(async () => {
    emu = await startEmulators(dataDir);
    useEndpoints(emu.endpoints);
    await createResources();
    writeFileSync(definition, JOURNEY);
  });
  afterAll(async () => emu?.close());

  it('answers on an empty lake with zero stages', async () => {
    const r = await report('lifecycle', '--since', '2024-08-05', '--until', '2024-08-18');
    expect(r.map((s) => [s.stage, s.new_people, s.all_people])).toEqual([
      ['acquisition', 0, 0],
      ['activation', 0, 0],
      ['retention', 0, 0],
      ['revenue', 0, 0],
      ['referral', 0, 0],
    ]);
  });

  it('seeds the lake', async () => {
    // Window Aug 5 (Mon) – Aug 18 (Sun) 2024: ISO weeks Aug 5–11 and Aug 12–18.
    const lifecycle = [
      lakeRow({ user: 'gone', at: '2024-07-01T10:00:00.000Z' }), // before the window only: not active
      lakeRow({ user: 'old1', at: '2024-07-20T10:00:00.000Z' }), // seen before: not new
      lakeRow({ user: 'old1', event: 'Order Completed', at: '2024-08-06T10:00:00.000Z', props: { total: 30 } }),
      lakeRow({ user: 'old1', at: '2024-08-13T10:00:00.000Z' }), // 2nd week: retained
      lakeRow({ user: 'n1', at: '2024-08-05T00:00:00.000Z' }), // new at the first instant of the window
      lakeRow({ user: 'n1', event: 'Signed Up', at: '2024-08-06T10:00:00.000Z' }),
      lakeRow({ user: 'n1', event: 'Order Completed', at: '2024-08-07T10:00:00.000Z', props: { revenue: 10 } }),
      lakeRow({ user: 'n1', event: 'Referral Sent', at: '2024-08-08T10:00:00.000Z' }),
      lakeRow({ user: 'n1', at: '2024-08-14T10:00:00.000Z' }),
      lakeRow({ anon: 'a-n2', at: '2024-08-10T10:00:00.000Z', props: { referrer_id: 'old1' } }), // names old1 as referrer
      lakeRow({ user: 'n3', event: 'Order Completed', at: '2024-08-16T10:00:00.000Z', props: { total: 0 } }), // activated, no revenue
      lakeRow({ user: 'n4', type: 'identify', at: '2024-08-12T10:00:00.000Z' }),
      lakeRow({ user: 'n4', at: '2024-08-18T23:59:59.000Z' }), // same ISO week: not retained
      lakeRow({ user: 'late', event: 'Order Completed', at: '2024-08-19T00:00:00.000Z', props: { total: 99 } }), // after the window
    ];
    await putLakeObject(eventObjectKey('2024-07-01', 'shardId-000000000000', '1'), lifecycle.slice(0, 2));
    await putLakeObject(eventObjectKey('2024-08-05', 'shardId-000000000000', '2'), lifecycle.slice(2));

    // Journey coupon-test (holdout 50%), window Sep 2–15. Conversion = its exit event, Coupon Redeemed.
    const [t1, t2] = profileIds(false, 2);
    const [h1, h2, h3] = profileIds(true, 3);
    const trig = (user: string | undefined, at: string, props: Record<string, unknown>, anon?: string) =>
      lakeRow({ user, anon, event: 'Order Completed', at, props });
    const redeem = (user: string | undefined, at: string, anon?: string) => lakeRow({ user, anon, event: 'Coupon Redeemed', at });
    const ok = { store_id: 'SH-001', total: 600 };
    const journey = [
      trig('j1', '2024-09-02T10:00:00.000Z', ok), // treated, converts
      redeem('j1', '2024-09-04T10:00:00.000Z'),
      redeem('j2', '2024-09-02T09:00:00.000Z'), // before j2 entered: does not count
      trig('j2', '2024-09-03T10:00:00.000Z', { store_id: 'SH-001', total: 500 }), // gte boundary; treated, no conversion
      trig('j3', '2024-09-02T10:00:00.000Z', { store_id: 'SH-001', total: 700 }), // holdout, converts
      redeem('j3', '2024-09-05T10:00:00.000Z'),
      trig('j4', '2024-09-02T10:00:00.000Z', ok), // holdout
      trig('j5', '2024-09-02T10:00:00.000Z', ok), // holdout
      trig(undefined, '2024-09-02T10:00:00.000Z', ok, 'anon-u1'), // no profile snapshot: unassigned
      redeem(undefined, '2024-09-03T10:00:00.000Z', 'anon-u1'),
      trig('x1', '2024-09-02T10:00:00.000Z', { store_id: 'SH-001', total: '600' }), // a string is not gte 500
      trig('x2', '2024-09-02T10:00:00.000Z', { store_id: 'SH-002', total: 900 }), // other store
      trig('x3', '2024-09-02T10:00:00.000Z', { store_id: 'SH-001', total: 499.99 }),
      // What the `tag` step put through the pipeline: j1 twice (two runs), j2 once; another journey's is ignored.
      lakeRow({ user: 'j1', type: 'identify', at: '2024-09-02T10:00:01.000Z', context: { cairn: { journeyId: 'coupon-test', stepId: 'tag', runId: 'r1' } } }),
      lakeRow({ user: 'j1', type: 'identify', at: '2024-09-06T10:00:01.000Z', context: { cairn: { journeyId: 'coupon-test', stepId: 'tag', runId: 'r2' } } }),
      lakeRow({ user: 'j2', type: 'identify', at: '2024-09-03T10:00:01.000Z', context: { cairn: { journeyId: 'coupon-test', stepId: 'tag', runId: 'r3' } } }),
      lakeRow({ user: 'j3', type: 'identify', at: '2024-09-03T10:00:01.000Z', context: { cairn: { journeyId: 'other', stepId: 'tag', runId: 'r4' } } }),
    ];
    await putLakeObject(eventObjectKey('2024-09-02', 'shardId-000000000001', '3'), journey);
    await putLakeObject(profileObjectKey('2024-09-01', 'shardId-000000000001', '4'), [
      lakeProfile('p-stale', 'j3', '2024-09-01T00:00:00.000Z', t1!), // merged away: ignored although it names j3
      lakeProfile(t1!, 'j1', '2024-09-01T00:00:00.000Z'),
      lakeProfile(t2!, 'x', '2024-09-01T00:00:00.000Z'), // j2's identity arrives in a later snapshot
      lakeProfile(h1!, 'j3', '2024-09-01T00:00:00.000Z'),
      lakeProfile(h2!, 'j4', '2024-09-01T00:00:00.000Z'),
      lakeProfile(h3!, 'j5', '2024-09-01T00:00:00.000Z'),
    ]);
    await putLakeObject(profileObjectKey('2024-09-03', 'shardId-000000000001', '5'), [lakeProfile(t2!, 'j2', '2024-09-03T00:00:00.000Z')]);
  });

  it('lifecycle: AARRR stages for the new cohort and for everyone active', async () => {
    // New: n1, a-n2, n3, n4. Active: those and old1. Activation (Order Completed): n1, n3 | old1, n1, n3.
    // Retention (2 weeks): n1 | old1, n1. Revenue: n1 | old1, n1. Referral: n1 (sent) | n1, old1 (named by a-n2).
    const r = await report('lifecycle', '--since', '2024-08-05', '--until', '2024-08-18');
    expect(r).toEqual([
      { stage: 'acquisition', new_people: 4, new_pct: 100, all_people: 5, all_pct: 100 },
      { stage: 'activation', new_people: 2, new_pct: 50, all_people: 3, all_pct: 60 },
      { stage: 'retention', new_people: 1, new_pct: 25, all_people: 2, all_pct: 40 },
      { stage: 'revenue', new_people: 1, new_pct: 25, all_people: 2, all_pct: 40 },
      { stage: 'referral', new_people: 1, new_pct: 25, all_people: 2, all_pct: 40 },
    ]);
    const signup = await report('lifecycle', '--since', '2024-08-05', '--until', '2024-08-18', '--activation-event', 'Signed Up');
    expect(signup[1]).toMatchObject({ stage: 'activation', new_people: 1, all_people: 1 });
    // A window of the second week only: n1 was first seen before it; n4 (Aug 12) is new there.
    const week2 = await report('lifecycle', '--since', '2024-08-12', '--until', '2024-08-18');
    expect(week2.map((s) => [s.stage, s.new_people, s.all_people])).toEqual([
      ['acquisition', 2, 4], // new: n3, n4; active: old1, n1, n3, n4
      ['activation', 1, 1], // n3
      ['retention', 0, 0],
      ['revenue', 0, 0],
      ['referral', 0, 0],
    ]);
  });

  it('lifecycle --windows: consecutive windows in one query, each as its own window would report it', async () => {
    // Four windows of one week ending Aug 18: Jul 22–28, Jul 29–Aug 4 (nobody), Aug 5–11, Aug 12–18.
    const r = await report('lifecycle', '--since', '2024-08-12', '--until', '2024-08-18', '--windows', '4');
    expect([...new Set(r.map((x) => `${x.window_since}..${x.window_until}`))]).toEqual([
      '2024-07-22..2024-07-28',
      '2024-07-29..2024-08-04',
      '2024-08-05..2024-08-11',
      '2024-08-12..2024-08-18',
    ]);
    for (const [since, until] of [
      ['2024-07-22', '2024-07-28'],
      ['2024-07-29', '2024-08-04'],
      ['2024-08-05', '2024-08-11'],
      ['2024-08-12', '2024-08-18'],
    ]) {
      const alone = await report('lifecycle', '--since', since!, '--until', until!);
      const mine = r.filter((x) => x.window_since === since && x.window_until === until).map(({ window_since, window_until, ...rest }) => rest);
      expect(mine, `${since}..${until}`).toEqual(alone);
    }
    // A week nobody was active in still has its five stages, at 0.
    expect(r.filter((x) => x.window_since === '2024-07-29').map((x) => [x.all_people, x.new_people])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ]);
    expect(r.filter((x) => x.window_since === '2024-08-05').map((x) => [x.stage, x.new_people, x.all_people])[0]).toEqual(['acquisition', 2, 3]); // new: n1, a-n2; old1 was seen Jul 20
    const c = io();
    expect(await run(['--data-dir', dataDir, 'report', 'lifecycle', '--windows', '0'], c)).not.toBe(0);
    expect(c.err).toContain('--windows must be a whole number from 1 to 52');
  });

  it('journey: triggered, treated vs holdout conversion, lift, and pipeline step counts', async () => {
    const r = await report('journey', 'coupon-test', '--definition', definition, '--since', '2024-09-01', '--until', '2024-09-15');
    expect(r).toEqual([
      { section: 'audience', item: 'triggered', people: 5, converted: 2, conversion_pct: 40 },
      { section: 'audience', item: 'treated', people: 2, converted: 1, conversion_pct: 50 },
      { section: 'audience', item: 'holdout', people: 3, converted: 1, conversion_pct: 33.3 },
      { section: 'audience', item: 'unassigned', people: 1, converted: 1, conversion_pct: 100 },
      { section: 'lift', item: 'treated_minus_holdout_pct_points', people: null, converted: null, conversion_pct: 16.7 },
      // Newcombe's interval of 1/2 − 1/3 (cli/reports/lift.ts): wide, as two and three people give.
      { section: 'lift', item: 'ci95_low_pct_points', people: null, converted: null, conversion_pct: -44.6 },
      { section: 'lift', item: 'ci95_high_pct_points', people: null, converted: null, conversion_pct: 65.5 },
      { section: 'step', item: 'tag (traits)', people: 2, converted: null, conversion_pct: null },
    ]);
    // Within 1 day of entry: j1 redeemed after 2 days, j3 after 3: only anon-u1 (+23 h) converts.
    const within = await report('journey', 'coupon-test', '--definition', definition, '--since', '2024-09-01', '--until', '2024-09-15', '--within', '1d');
    expect(within.slice(0, 4).map((x) => x.converted)).toEqual([0, 0, 0, 1]);
    // Another conversion event: the trigger's own event never follows it here.
    const other = await report(
      'journey',
      'coupon-test',
      '--definition',
      definition,
      '--since',
      '2024-09-01',
      '--until',
      '2024-09-15',
      '--conversion-event',
      'Signed Up',
    );
    expect(other[0]).toMatchObject({ people: 5, converted: 0, conversion_pct: 0 });
  });

  it('--html writes one self-contained page with an inline SVG chart, the table, parameters, and every value escaped', async () => {
    const file = join(dataDir, 'journey.html');
    const c = io();
    const code = await run(
      ['--data-dir', dataDir, 'report', 'journey', 'coupon-test', '--definition', definition, '--since', '2024-09-01', '--until', '2024-09-15', '--html', file],
      c,
    );
    expect(c.err).toBe('');
    expect(code).toBe(0);
    expect(c.out).toContain('(8 rows)');
    const html = readFileSync(file, 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>Journey coupon-test</title>');
    // The journey name comes from a document: escaped, never markup.
    expect(html).toContain('coupon-test (Coupon &lt;test&gt; &amp; &quot;friends&quot;)');
    expect(html).not.toContain('<test>');
    expect(html).toMatch(/<dt>since<\/dt><dd>2024-09-01<\/dd><dt>until<\/dt><dd>2024-09-15<\/dd>/);
    expect(html).toMatch(/<dt>generated<\/dt><dd><time datetime="\d{4}-\d{2}-\d{2}T/);
    // Self-contained: no script, no external reference.
    expect(html).not.toMatch(/<script|<link|src=|href=|@import|url\(/i);
    const svg = /<svg [^>]*>([\s\S]*?)<\/svg>/.exec(html);
    expect(svg).not.toBeNull();
    // One bar per series (people, converted) per row; the largest value spans the plot.
    expect(svg![1]!.match(/<rect class="bar"/g)).toHaveLength(16);
    const rows = [...html.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td class="num">([^<]*)<\/td>/g)].map((m) => [m[1], m[2], m[3]]);
    expect(rows[0]).toEqual(['audience', 'triggered', '5']);
    expect(rows).toHaveLength(8);

    const lc = join(dataDir, 'lifecycle.html');
    expect(
      await run(['--data-dir', dataDir, 'report', 'lifecycle', '--since', '2024-08-05', '--until', '2024-08-18', '--html', lc, '--format', 'csv'], io()),
    ).toBe(0);
    const page = readFileSync(lc, 'utf8');
    expect(page).toContain('<title>Lifecycle (AARRR)</title>');
    expect(page).toContain('>new_people</text>'); // legend of the two series
    expect(page.match(/<rect class="bar"/g)).toHaveLength(10);
  });

  it('usage errors: journey without id or definition, unknown journey, bad window', async () => {
    for (const args of [
      ['journey'],
      ['lifecycle', '--since', '2024-08-19', '--until', '2024-08-18'],
      ['lifecycle', 'extra'],
      ['journey', 'coupon-test', '--definition', join(dataDir, 'missing.yaml')],
    ]) {
      const e = io();
      expect(await run(['--data-dir', dataDir, 'report', ...args], e)).toBe(2);
      expect(e.err).toMatch(/^error: /);
    }
    const e = io();
    expect(await run(['--data-dir', dataDir, 'report', 'journey', 'nope', '--definition', definition], e)).toBe(1);
    expect(e.err).toMatch(/no journey "nope"/);
  });
});
