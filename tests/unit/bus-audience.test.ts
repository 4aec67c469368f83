/**
 * What the publisher puts on the bus (docs/eventbridge.md "What is published"): only events some
 * enabled rule of the bus can match, with the local bus's pattern semantics; erring on the side of
 * publishing wherever a rule cannot be judged before EventBridge stamps the event.
 */
import { describe, expect, it } from 'vitest';
import { busAudience, type BusEnvelope } from '#shared/eventbridge';
import { busRulesAudience } from '#shared/identity/bus';
import type { BusEvent } from '#shared/identity';

const ev = (detailType: string, detail: Record<string, unknown>): BusEnvelope => ({ source: 'cairn', 'detail-type': detailType, detail });
const order = ev('track', { event: 'Order Completed', properties: { total: 120, store_id: 'SH-001' } });
const view = ev('track', { event: 'Product Viewed', properties: { sku: 's-1' } });
const page = ev('page', { name: 'Catalog' });
const rule = (pattern: unknown, state = 'ENABLED') => ({ eventPattern: JSON.stringify(pattern), state });

describe('busAudience', () => {
  it('lets through what an enabled rule matches, nothing else', () => {
    const m = busAudience([
      rule({ source: ['cairn'], 'detail-type': ['track'], detail: { event: ['Order Completed'], properties: { total: [{ numeric: ['>=', 100] }] } } }),
    ]);
    expect([order, view, page].map(m)).toEqual([true, false, false]);
  });

  it('no rules: nothing goes; a disabled rule or a scheduled rule matches nothing', () => {
    expect(busAudience([])(order)).toBe(false);
    expect(busAudience([rule({ source: ['cairn'] }, 'DISABLED'), { name: 'cron', state: 'ENABLED' }])(order)).toBe(false);
    expect(busAudience([rule({ source: ['cairn'] }, 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS')])(page)).toBe(true);
  });

  it('$or and dotted keys over the fields the publisher knows are judged', () => {
    const m = busAudience([rule({ $or: [{ 'detail-type': ['page'] }, { 'detail.event': ['Order Completed'] }] })]);
    expect([order, view, page].map(m)).toEqual([true, false, true]);
  });

  it('a pattern on a field EventBridge stamps (id, time, account, region, resources), or one this code cannot read, lets everything through', () => {
    for (const p of [
      { account: ['123456789012'] },
      { time: [{ prefix: '2026' }] },
      { region: ['us-east-1'] },
      { resources: [{ exists: false }] },
      { $or: [{ id: ['x'] }] },
    ]) {
      expect(busAudience([rule(p)])(view)).toBe(true);
    }
    expect(busAudience([{ eventPattern: '{not json', state: 'ENABLED' }])(view)).toBe(true);
    expect(busAudience([rule({ detail: { event: [{ nonsense: 1 }] } })])(view)).toBe(true);
  });
});

describe('busRulesAudience (the publisher keeps the rules for refreshMs)', () => {
  const events: BusEvent[] = [
    { detailType: 'track', detail: { event: 'Order Completed' } },
    { detailType: 'page', detail: { name: 'Catalog' } },
  ];

  it('lists the rules once per refresh, sees a new rule after it, and fails open when listing fails', async () => {
    let now = 0;
    let rules = [rule({ 'detail-type': ['track'] })];
    let lists = 0;
    let fail = false;
    const a = busRulesAudience(
      'cairn',
      5_000,
      async () => {
        lists++;
        if (fail) throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
        return rules;
      },
      () => now,
    );
    expect((await a.filter(events)).map((e) => e.detailType)).toEqual(['track']);
    rules = [rule({ 'detail-type': ['page'] })];
    now = 4_999;
    expect((await a.filter(events)).map((e) => e.detailType)).toEqual(['track']); // kept
    now = 5_000;
    expect((await a.filter(events)).map((e) => e.detailType)).toEqual(['page']); // listed again
    expect(lists).toBe(2);
    fail = true;
    now = 10_000;
    expect(await a.filter(events)).toEqual(events); // rules unreadable: everything is put
    expect(await a.filter([])).toEqual([]);
  });
});
