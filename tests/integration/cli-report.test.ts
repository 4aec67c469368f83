/**
 * `cairn report` over a real lake: gzip JSON Lines objects put through a real s3rver, queried with
 * DuckDB from the data directory. Expected figures are worked out by hand in the comments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { encodeJsonLines, eventObjectKey, quarantineObjectKey } from '#shared/lake';
import type { LakeEventRow, LakeQuarantineRow } from '#shared/message/types';
import { run } from '#cli/main';
import { io } from '../support/io';

let seq = 0;
interface Ev {
  user?: string;
  anon?: string;
  type?: LakeEventRow['type'];
  event?: string;
  at: string;
  props?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context?: Record<string, unknown>;
  id?: string;
}
const row = (e: Ev): LakeEventRow => ({
  message_id: e.id ?? `m-${++seq}`,
  type: e.type ?? (e.event ? 'track' : 'page'),
  event: e.event ?? null,
  name: null,
  category: null,
  user_id: e.user ?? null,
  anonymous_id: e.anon ?? null,
  group_id: null,
  previous_id: null,
  timestamp: e.at,
  original_timestamp: null,
  sent_at: null,
  received_at: e.at,
  properties: JSON.stringify(e.props ?? {}),
  traits: JSON.stringify(e.traits ?? {}),
  context: JSON.stringify(e.context ?? {}),
  source_id: 'default',
});

const put = (key: string, rows: unknown[]) => s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: key, Body: encodeJsonLines(rows) }));

describe('cairn report over the local lake (DuckDB)', () => {
  let emu: Emulators;
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-cli-report-'));

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
  });
  afterAll(async () => emu?.close());

  it('answers on an empty lake: a funnel of zeros and quality figures of zero', async () => {
    expect(await report('funnel', '--steps', 'A,B')).toEqual([
      { step: 1, event: 'A', people: 0, conversion_pct: null, from_previous_pct: null, drop_off: null, median_seconds_from_previous: null },
      { step: 2, event: 'B', people: 0, conversion_pct: null, from_previous_pct: null, drop_off: 0, median_seconds_from_previous: null },
    ]);
    expect(await report('rfm')).toEqual([]);
    expect(await report('retention')).toEqual([]);
    const q = await report('quality');
    expect(q.map((r) => [r.item, r.count])).toEqual([
      ['total', 0],
      ['duplicate_message_ids', 0],
      ['user_id', 0],
      ['anonymous_id', 0],
      ['email', 0],
    ]);
  });

  it('seeds the lake', async () => {
    // Funnel (May 1–2): p1 converts fully, anonymous a2 drops after the cart, u3 only views
    // (its cart came before the view, so it does not count).
    const funnel = [
      row({ user: 'u1', event: 'Product Viewed', at: '2024-05-01T10:00:00.000Z' }),
      row({ user: 'u1', event: 'Added to Cart', at: '2024-05-01T10:10:00.000Z' }), // +600 s
      row({ user: 'u1', event: 'Order Completed', at: '2024-05-01T10:30:00.000Z', props: { total: 20 } }), // +1200 s
      row({ anon: 'a2', event: 'Product Viewed', at: '2024-05-01T11:00:00.000Z' }),
      row({ anon: 'a2', event: 'Added to Cart', at: '2024-05-01T11:20:00.000Z' }), // +1200 s
      row({ user: 'u3', event: 'Added to Cart', at: '2024-05-02T08:00:00.000Z' }),
      row({ user: 'u3', event: 'Product Viewed', at: '2024-05-02T09:00:00.000Z' }),
    ];
    await put(eventObjectKey('2024-05-01', 'shardId-000000000000', '1'), funnel.slice(0, 5));
    await put(eventObjectKey('2024-05-02', 'shardId-000000000000', '2'), funnel.slice(5));

    // RFM (May 24 – June 29, as of June 30): five buyers, distinct on every measure.
    const orders = (user: string, days: string[], props: Record<string, unknown>) =>
      days.map((d) => row({ user, event: 'Order Completed', at: `${d}T12:00:00.000Z`, props }));
    const rfm = [
      ...orders('c1', ['2024-06-25', '2024-06-26', '2024-06-27', '2024-06-28', '2024-06-29'], { total: 100 }), // rec 1, f 5, m 500
      ...orders('c2', ['2024-06-28'], { revenue: 50 }), // rec 2, f 1, m 50 (revenue fallback)
      ...orders('c3', ['2024-06-17', '2024-06-18', '2024-06-19', '2024-06-20'], { total: 100 }), // rec 10, f 4, m 400
      ...orders('c4', ['2024-05-30', '2024-05-31', '2024-06-01'], { total: '100' }), // rec 29, f 3, m 300
      ...orders('c5', ['2024-05-24', '2024-05-25'], { total: 500 }), // rec 36, f 2, m 1000
    ];
    await put(eventObjectKey('2024-06-01', 'shardId-000000000001', '3'), rfm);

    // Retention (July, weeks start Monday July 1 and 8): r1 and r2 in the July 1 cohort, r3 in July 8.
    const dup = row({ user: 'r2', at: '2024-07-03T10:00:00.000Z', id: 'dup-1' });
    const retention = [
      row({ user: 'r1', anon: 'ra1', at: '2024-07-01T10:00:00.000Z' }), // week 0
      row({ user: 'r1', anon: 'ra1', at: '2024-07-09T10:00:00.000Z' }), // week 1
      row({ user: 'r1', anon: 'ra1', at: '2024-07-22T10:00:00.000Z' }), // week 3
      row({ user: 'r2', at: '2024-07-02T10:00:00.000Z', context: { traits: { email: 'r2@example.com' } } }), // week 0
      dup, // week 0
      row({ user: 'r3', type: 'identify', at: '2024-07-10T10:00:00.000Z', traits: { email: 'r3@example.com' } }), // week 0 of July 8
      row({ user: 'r3', at: '2024-07-15T10:00:00.000Z' }), // week 1
    ];
    await put(eventObjectKey('2024-07-01', 'shardId-000000000002', '4'), retention);
    // The same message written again by another object: one duplicate row.
    await put(eventObjectKey('2024-07-03', 'shardId-000000000003', '5'), [dup]);

    const q = (code: string, n: number): LakeQuarantineRow => ({
      message_id: `q-${code}-${n}`,
      code,
      reason: code,
      message: '{}',
      received_at: '2024-07-01T00:00:00.000Z',
      source_id: 'default',
      stage: 'normalize',
    });
    await put(quarantineObjectKey('2024-07-01', 'shardId-000000000000', '6'), [q('invalid_email', 1), q('invalid_email', 2), q('invalid_timestamp', 1)]);
  });

  it('funnel: ordered steps, conversion, drop-off and median time between steps', async () => {
    const r = await report('funnel', '--steps', 'Product Viewed,Added to Cart,Order Completed', '--until', '2024-05-10');
    expect(r).toEqual([
      { step: 1, event: 'Product Viewed', people: 3, conversion_pct: 100, from_previous_pct: null, drop_off: null, median_seconds_from_previous: null },
      { step: 2, event: 'Added to Cart', people: 2, conversion_pct: 66.7, from_previous_pct: 66.7, drop_off: 1, median_seconds_from_previous: 900 },
      { step: 3, event: 'Order Completed', people: 1, conversion_pct: 33.3, from_previous_pct: 50, drop_off: 1, median_seconds_from_previous: 1200 },
    ]);
    // Within 15 minutes of the view: only u1's cart (+600 s) counts; its order (+1800 s) is too late.
    const within = await report('funnel', '--steps', 'Product Viewed,Added to Cart,Order Completed', '--until', '2024-05-10', '--within', '15m');
    expect(within.map((s) => [s.people, s.conversion_pct])).toEqual([
      [3, 100],
      [1, 33.3],
      [0, 0],
    ]);
    // --since cuts May 1: only u3 enters, and never adds to cart after viewing.
    const since = await report('funnel', '--steps', 'Product Viewed,Added to Cart', '--since', '2024-05-02', '--until', '2024-05-10');
    expect(since.map((s) => s.people)).toEqual([1, 0]);
  });

  it('rfm: quintile scores and named groups', async () => {
    const people = await report('rfm', '--as-of', '2024-06-30', '--since', '2024-05-15', '--until', '2024-06-30', '--people');
    const by = Object.fromEntries(people.map((p) => [p.person, [p.recency_days, p.frequency, p.monetary, p.r, p.f, p.m, p.rfm_group]]));
    expect(by).toEqual({
      c1: [1, 5, 500, 5, 5, 4, 'champions'],
      c2: [2, 1, 50, 4, 1, 1, 'new'],
      c3: [10, 4, 400, 3, 4, 3, 'loyal'],
      c4: [29, 3, 300, 2, 3, 2, 'at_risk'],
      c5: [36, 2, 1000, 1, 2, 5, 'lost'],
    });
    const groups = await report('rfm', '--as-of', '2024-06-30', '--since', '2024-05-15', '--until', '2024-06-30');
    expect(groups.map((g) => [g.rfm_group, g.people, g.monetary, g.people_pct])).toEqual([
      ['champions', 1, 500, 20],
      ['loyal', 1, 400, 20],
      ['new', 1, 50, 20],
      ['at_risk', 1, 300, 20],
      ['lost', 1, 1000, 20],
    ]);
    // The grid: one row per (recency, frequency) score that has buyers.
    const grid = await report('rfm', '--as-of', '2024-06-30', '--since', '2024-05-15', '--until', '2024-06-30', '--grid');
    expect(grid.map((g) => [g.r, g.f, g.people, g.monetary])).toEqual([
      [1, 2, 1, 1000],
      [2, 3, 1, 300],
      [3, 4, 1, 400],
      [4, 1, 1, 50],
      [5, 5, 1, 500],
    ]);
  });

  it('retention: weekly cohorts by first week, share active in each following week', async () => {
    const r = await report('retention', '--since', '2024-07-01', '--weeks', '3');
    expect(r.map((x) => [x.cohort_week, x.cohort_size, x.week_number, x.active, x.retained_pct])).toEqual([
      ['2024-07-01', 2, 0, 2, 100],
      ['2024-07-01', 2, 1, 1, 50],
      ['2024-07-01', 2, 2, 0, 0],
      ['2024-07-01', 2, 3, 1, 50],
      ['2024-07-08', 1, 0, 1, 100],
      ['2024-07-08', 1, 1, 1, 100],
      ['2024-07-08', 1, 2, 0, 0],
      ['2024-07-08', 1, 3, 0, 0],
    ]);
  });

  it('retention: a week that has not happened by --until (or today) is blank, never 0%', async () => {
    // --until July 17 (a Wednesday): the week of July 15 has happened in part, the week of July 22 not yet.
    const r = await report('retention', '--since', '2024-07-01', '--until', '2024-07-17', '--weeks', '3');
    expect(r.map((x) => [x.cohort_week, x.cohort_size, x.week_number, x.active, x.retained_pct])).toEqual([
      ['2024-07-01', 2, 0, 2, 100],
      ['2024-07-01', 2, 1, 1, 50],
      ['2024-07-01', 2, 2, 0, 0],
      ['2024-07-01', 2, 3, null, null],
      ['2024-07-08', 1, 0, 1, 100],
      ['2024-07-08', 1, 1, 1, 100],
      ['2024-07-08', 1, 2, null, null],
      ['2024-07-08', 1, 3, null, null],
    ]);
    // The table leaves those cells empty.
    const c = io();
    expect(await run(['--data-dir', dataDir, 'report', 'retention', '--since', '2024-07-01', '--until', '2024-07-17', '--weeks', '3'], c)).toBe(0);
    const lastRow = c.out.split('\n').find((l) => l.startsWith('2024-07-08') && /\|\s*3\s*\|/.test(l))!;
    expect(lastRow.split('|').map((x) => x.trim())).toEqual(['2024-07-08', '1', '3', '', '']);
  });

  it('quality: quarantine reasons, duplicate rate and identifier coverage', async () => {
    // 7 funnel + 15 order + 7 retention rows + 1 duplicate = 30 rows; 28 with user_id (not a2's 2),
    // 5 with anonymous_id (a2's 2, r1's 3), 2 with an email (traits / context.traits).
    const r = await report('quality');
    expect(r.map((x) => [x.section, x.item, x.count, x.pct])).toEqual([
      ['quarantine', 'invalid_email', 2, 66.7],
      ['quarantine', 'invalid_timestamp', 1, 33.3],
      ['events', 'total', 30, null],
      ['events', 'duplicate_message_ids', 1, 3.33],
      ['coverage', 'user_id', 28, 93.3],
      ['coverage', 'anonymous_id', 5, 16.7],
      ['coverage', 'email', 2, 6.7],
    ]);
  });

  it('prints a table by default and csv on request; bad options are usage errors (exit 2)', async () => {
    const t = io();
    expect(await run(['--data-dir', dataDir, 'report', 'funnel', '--steps', 'Product Viewed,Added to Cart', '--until', '2024-05-10'], t)).toBe(0);
    expect(t.out.split('\n')[0]).toMatch(/^step \| event +\| people \| conversion_pct \| from_previous_pct \| drop_off \| median_seconds_from_previous$/);
    expect(t.out).toContain('(2 rows)');
    const c = io();
    expect(await run(['--data-dir', dataDir, 'report', 'quality', '--format', 'csv'], c)).toBe(0);
    expect(c.out.split('\r\n')[0]).toBe('section,item,count,pct');
    for (const args of [
      ['funnel'],
      ['funnel', '--steps', 'Only'],
      ['funnel', '--steps', 'A,B', '--within', '7 days'],
      ['retention', '--weeks', '0'],
      ['rfm', '--since', '2024-13-01'],
      ['nope'],
    ]) {
      const e = io();
      expect(await run(['--data-dir', dataDir, 'report', ...args], e)).toBe(2);
      expect(e.err).toMatch(/^error: /);
    }
  });
});
