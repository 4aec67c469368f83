/**
 * RFM and lifecycle, the one implementation shared by λ scores and `npx cairn report rfm`: the SQL
 * CASE the report runs is generated from the same rule table the write-back uses, ntile() behaves as
 * SQL's, and scoring a population gives the groups the report gives for the same people.
 */
import { describe, expect, it } from 'vitest';
import { daysBetween, ntile, RFM_GROUP_SQL, rfmGroup, scoreRfm } from '#shared/scores/rfm';
import { lifecycleStage } from '#shared/scores/lifecycle';
import { canonical, scoreValues } from '#shared/scores/values';

describe('RFM groups', () => {
  it('the report SQL is exactly the CASE it always ran', () => {
    expect(RFM_GROUP_SQL).toBe(
      [
        'CASE',
        "  WHEN r >= 4 AND f >= 4 THEN 'champions'",
        "  WHEN r = 3 AND f >= 4 THEN 'loyal'",
        "  WHEN r >= 4 AND f = 1 THEN 'new'",
        "  WHEN r >= 3 THEN 'potential'",
        "  WHEN f >= 4 AND m >= 4 THEN 'cant_lose'",
        "  WHEN f >= 3 THEN 'at_risk'",
        "  WHEN r = 2 THEN 'hibernating'",
        "  ELSE 'lost'",
        'END',
      ].join('\n'),
    );
  });

  it('rfmGroup follows the rules in order', () => {
    expect(rfmGroup(5, 5, 1)).toBe('champions');
    expect(rfmGroup(3, 4, 1)).toBe('loyal');
    expect(rfmGroup(4, 1, 5)).toBe('new');
    expect(rfmGroup(3, 2, 2)).toBe('potential');
    expect(rfmGroup(2, 4, 4)).toBe('cant_lose');
    expect(rfmGroup(1, 4, 3)).toBe('at_risk');
    expect(rfmGroup(2, 3, 5)).toBe('at_risk');
    expect(rfmGroup(2, 2, 5)).toBe('hibernating');
    expect(rfmGroup(1, 2, 5)).toBe('lost');
  });

  it('ntile(5) splits like SQL: sizes differ by at most one, larger groups first', () => {
    const tiles = (n: number) => Array.from({ length: n }, (_, i) => ntile(i, n));
    expect(tiles(3)).toEqual([1, 2, 3]);
    expect(tiles(7)).toEqual([1, 1, 2, 2, 3, 4, 5]);
    expect(tiles(10)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    expect(tiles(12)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5]);
  });

  it('scores a population: recent frequent big spenders are champions, long-gone frequent ones at risk', () => {
    const people = [
      { id: 'a', recencyDays: 2, frequency: 9, monetary: 900 },
      { id: 'b', recencyDays: 3, frequency: 8, monetary: 50 },
      { id: 'c', recencyDays: 200, frequency: 7, monetary: 10 },
      { id: 'd', recencyDays: 300, frequency: 1, monetary: 5 },
      { id: 'e', recencyDays: 10, frequency: 1, monetary: 20 },
    ];
    const s = scoreRfm(people);
    expect(s.get('a')).toEqual({ r: 5, f: 5, m: 5, group: 'champions' });
    expect(s.get('b')).toEqual({ r: 4, f: 4, m: 4, group: 'champions' });
    expect(s.get('c')).toEqual({ r: 2, f: 3, m: 2, group: 'at_risk' });
    expect(s.get('d')).toEqual({ r: 1, f: 1, m: 1, group: 'lost' });
    expect(s.get('e')).toEqual({ r: 3, f: 2, m: 3, group: 'potential' });
  });

  it('ties are split by id, as the report orders them', () => {
    const s = scoreRfm(['x', 'w', 'v', 'u', 't'].map((id) => ({ id, recencyDays: 5, frequency: 1, monetary: 1 })));
    expect(['t', 'u', 'v', 'w', 'x'].map((id) => s.get(id)!.f)).toEqual([1, 2, 3, 4, 5]);
    expect(['t', 'u', 'v', 'w', 'x'].map((id) => s.get(id)!.r)).toEqual([1, 2, 3, 4, 5]);
  });

  it('recency counts whole UTC days, as date_diff over dates does', () => {
    expect(daysBetween('2024-06-29T23:59:00.000Z', '2024-06-30')).toBe(1);
    expect(daysBetween('2024-06-30T00:00:01.000Z', '2024-06-30')).toBe(0);
    expect(daysBetween('2024-01-01T12:00:00.000Z', '2024-06-30')).toBe(181);
  });
});

describe('lifecycle stage and stored values', () => {
  it('stages from orders and days since the last order', () => {
    expect(lifecycleStage(0, null)).toBe('prospect');
    expect(lifecycleStage(1, 3)).toBe('new');
    expect(lifecycleStage(3, 90)).toBe('active');
    expect(lifecycleStage(1, 91)).toBe('lapsing');
    expect(lifecycleStage(5, 180)).toBe('lapsing');
    expect(lifecycleStage(5, 181)).toBe('lapsed');
  });

  it('prospects carry a stage only; buyers carry the RFM scores, group and last order', () => {
    expect(scoreValues(0, null, undefined, '2024-06-30')).toEqual({ lifecycle_stage: 'prospect' });
    expect(scoreValues(2, '2024-06-01T10:00:00.000Z', { r: 5, f: 4, m: 3, group: 'champions' }, '2024-06-30')).toEqual({
      lifecycle_stage: 'active',
      rfm_group: 'champions',
      rfm_recency: 5,
      rfm_frequency: 4,
      rfm_monetary: 3,
      last_order_at: '2024-06-01T10:00:00.000Z',
    });
  });

  it('canonical form ignores key order (a stored map read back from DynamoDB compares equal)', () => {
    expect(canonical({ b: 1, a: 'x' })).toBe(canonical({ a: 'x', b: 1 }));
  });
});
