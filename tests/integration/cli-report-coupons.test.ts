/**
 * `cairn report journey` for a journey with a coupon step, over a real lake (s3rver + DuckDB), figures
 * worked out by hand: codes issued by the step (the identify each issue put through the pipeline),
 * redeemed at or after their issue whatever the case, spaces or dashes the till typed them with,
 * the median time to redeem, codes redeemed twice; conversion = a later Order Completed (the trigger
 * order itself does not count, and the journey's Coupon Redeemed exit is not its conversion: the
 * holdout gets no code to redeem); the lift with its 95 % interval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
id: gift-test
trigger: { event: Order Completed, where: { properties.first_order: true } }
consent: none
holdout: 50%
exit: { event: Coupon Redeemed }
steps:
  - id: gift
    action: coupon
    pool: welcome
  - id: mail
    action: email
    subject: hi
    body: "{{ coupon.code }}"
`;

function profileIds(holdout: boolean, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (inHoldout({ id: 'gift-test', holdout: 50 }, `p-${i}`) === holdout) out.push(`p-${i}`);
  return out;
}

describe('cairn report journey with a coupon step (local lake, DuckDB)', () => {
  let emu: Emulators;
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-cli-report-coupons-'));
  const definition = join(dataDir, 'journey.yaml');

  beforeAll(async () => {
    emu = await startEmulators(dataDir);
    useEndpoints(emu.endpoints);
    await createResources();
    writeFileSync(definition, JOURNEY);
    const [t1, t2, t3] = profileIds(false, 3);
    const [h1, h2] = profileIds(true, 2);
    const issued = (user: string, code: string, at: string, journeyId = 'gift-test') =>
      lakeRow({ user, type: 'identify', at, context: { cairn: { journeyId, stepId: 'gift', runId: `r-${user}`, coupon: { pool: 'welcome', code } } } });
    const order = (user: string, at: string, first = false) =>
      lakeRow({ user, event: 'Order Completed', at, props: first ? { first_order: true, total: 40 } : { total: 60 } });
    const redeem = (user: string, at: string, props: Record<string, unknown>) => lakeRow({ user, event: 'Coupon Redeemed', at, props });
    const events = [
      ...['t1', 't2', 't3', 'h1', 'h2'].map((u) => order(u, '2024-10-02T10:00:00.000Z', true)),
      issued('t1', 'WELCOME-AAAA-0001', '2024-10-02T10:00:01.000Z'),
      issued('t2', 'WELCOME-AAAA-0002', '2024-10-02T10:00:01.000Z'),
      issued('t3', 'WELCOME-AAAA-0003', '2024-10-02T10:00:01.000Z'),
      issued('h1', 'OTHER-0001', '2024-10-02T10:00:01.000Z', 'other-journey'), // another journey's code
      redeem('t1', '2024-10-03T10:00:01.000Z', { code: 'welcome aaaa 0001' }), // 24 h, typed in lower case with spaces
      redeem('t1', '2024-10-04T10:00:01.000Z', { code: 'WELCOME-AAAA-0001' }), // the same code again: redeemed more than once
      redeem('t2', '2024-10-02T22:00:01.000Z', { coupon: 'We1come-aaaa-OOO2' }), // 12 h; `coupon`, O for 0 and 1 for l
      redeem('t3', '2024-10-01T10:00:00.000Z', { code: 'WELCOME-AAAA-0003' }), // before the issue: not a redemption of it
      redeem('h1', '2024-10-03T10:00:00.000Z', { code: 'OTHER-0001' }),
      order('t1', '2024-10-05T10:00:00.000Z'), // treated, converts (a later order)
      order('h1', '2024-10-06T10:00:00.000Z'), // holdout, converts
    ];
    await putLakeObject(eventObjectKey('2024-10-02', 'shardId-000000000000', '1'), events);
    await putLakeObject(profileObjectKey('2024-10-01', 'shardId-000000000000', '2'), [
      lakeProfile(t1!, 't1', '2024-10-01T00:00:00.000Z'),
      lakeProfile(t2!, 't2', '2024-10-01T00:00:00.000Z'),
      lakeProfile(t3!, 't3', '2024-10-01T00:00:00.000Z'),
      lakeProfile(h1!, 'h1', '2024-10-01T00:00:00.000Z'),
      lakeProfile(h2!, 'h2', '2024-10-01T00:00:00.000Z'),
    ]);
  });
  afterAll(async () => emu?.close());

  it('issued, redeemed, redemption rate, median hours to redeem, codes redeemed twice; lift on later orders with its interval', async () => {
    const c = io();
    const code = await run(
      [
        '--data-dir',
        dataDir,
        'report',
        'journey',
        'gift-test',
        '--definition',
        definition,
        '--since',
        '2024-10-01',
        '--until',
        '2024-10-31',
        '--format',
        'json',
      ],
      c,
    );
    expect(c.err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(c.out)).toEqual([
      // The trigger orders themselves are not conversions: only t1's and h1's later orders are.
      { section: 'audience', item: 'triggered', people: 5, converted: 2, conversion_pct: 40 },
      { section: 'audience', item: 'treated', people: 3, converted: 1, conversion_pct: 33.3 },
      { section: 'audience', item: 'holdout', people: 2, converted: 1, conversion_pct: 50 },
      { section: 'audience', item: 'unassigned', people: 0, converted: 0, conversion_pct: null },
      { section: 'lift', item: 'treated_minus_holdout_pct_points', people: null, converted: null, conversion_pct: -16.7 },
      { section: 'lift', item: 'ci95_low_pct_points', people: null, converted: null, conversion_pct: -65.5 },
      { section: 'lift', item: 'ci95_high_pct_points', people: null, converted: null, conversion_pct: 44.6 },
      { section: 'coupon', item: 'gift (coupon)', people: 3, converted: 2, conversion_pct: 66.7 },
      { section: 'coupon', item: 'gift median_hours_to_redeem', people: null, converted: null, conversion_pct: 18 },
      { section: 'coupon', item: 'gift redeemed_more_than_once', people: 1, converted: null, conversion_pct: null },
    ]);
  });
});
