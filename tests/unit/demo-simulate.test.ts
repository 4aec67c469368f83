/**
 * The demo retailer's simulator (shared/demo/simulate.ts): deterministic for a seed; every message
 * passes the collector and normalize; identities join up across web, app, POS and CRM exactly per
 * person (the union of identifiers a message links is one component per person — no person split,
 * no two people merged); history within the window; the example definitions' trigger events present.
 */
import { describe, expect, it } from 'vitest';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { DEMO_SOURCES, LiveTraffic, interestingPeople, simulateHistory, type DemoHistory } from '#shared/demo';
import { historyRequests } from '#cli/demo-stack';
import { validateMessage } from '#shared/collect/validate';
import { normalizeEnvelope } from '#shared/normalize/normalize';
import { extractIdentifiers, identityKey } from '#shared/identity/identifiers';
import { identityConfig } from '#shared/identity/config';
import type { JsonObject } from '#shared/message/types';

const DAY = 86_400_000;
const now = Date.parse('2025-06-01T12:00:00.000Z');
const opts = { customers: 400, days: 90, seed: 7, now };
const h: DemoHistory = simulateHistory(opts);
const props = (m: JsonObject) => (m.properties ?? {}) as JsonObject;
const personOf = (m: JsonObject) => Number(String(m.messageId).split('-')[1]);

describe('demo simulator', () => {
  it('is deterministic for a seed, and another seed gives another history', () => {
    const again = simulateHistory(opts);
    expect(JSON.stringify(again.messages)).toBe(JSON.stringify(h.messages));
    const other = simulateHistory({ ...opts, seed: 8 });
    expect(JSON.stringify(other.messages)).not.toBe(JSON.stringify(h.messages));
  });

  it('gives every message a unique id, a timestamp inside the window, in order, on one of the four sources', () => {
    const ids = new Set(h.messages.map((m) => m.message.messageId));
    expect(ids.size).toBe(h.messages.length);
    let prev = '';
    for (const { source, message } of h.messages) {
      expect(Object.keys(DEMO_SOURCES)).toContain(source);
      const t = Date.parse(String(message.timestamp));
      expect(t).toBeGreaterThan(now - opts.days * DAY - DAY);
      expect(t).toBeLessThan(now);
      expect(String(message.timestamp) >= prev).toBe(true);
      prev = String(message.timestamp);
    }
    // The history really spans the window (acquisition spread over all of it).
    const first = Date.parse(String(h.messages[0]!.message.timestamp));
    expect(first).toBeLessThan(now - 80 * DAY);
    expect(h.messages.length).toBeGreaterThan(opts.customers * 5);
    expect(h.messages.length).toBeLessThan(opts.customers * 25);
  });

  it('produces messages the collector and normalize accept', () => {
    h.messages.forEach(({ message }, i) => {
      const m = structuredClone(message);
      expect(() => validateMessage(m, undefined, i)).not.toThrow();
      const n = normalizeEnvelope({ message: m, sourceId: 'demo', receivedAt: new Date(now).toISOString() }, 'US');
      expect(n.ok ? 'ok' : `${n.code}: ${n.reason}`).toBe('ok');
    });
  });

  it('links identities across sources exactly per person: one component each, none shared', () => {
    const config = identityConfig();
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let r = x;
      while (parent.get(r) !== r) r = parent.get(r)!;
      parent.set(x, r);
      return r;
    };
    const add = (x: string) => void (parent.has(x) || parent.set(x, x));
    const owner = new Map<string, number>();
    for (const { message } of h.messages) {
      const n = normalizeEnvelope({ message: structuredClone(message), sourceId: 'demo', receivedAt: new Date(now).toISOString() }, 'US');
      if (!n.ok) throw new Error(n.reason);
      const { ids, invalid } = extractIdentifiers(n.message, config);
      expect(invalid).toEqual([]);
      const keys = ids.map(identityKey);
      keys.forEach(add);
      for (const k of keys.slice(1)) parent.set(find(k), find(keys[0]!));
      for (const k of keys) {
        const p = personOf(message);
        expect(owner.get(k) ?? p, `${k} is used by two people`).toBe(p);
        owner.set(k, p);
      }
    }
    const components = new Map<number, Set<string>>();
    for (const [k, p] of owner) {
      if (!components.has(p)) components.set(p, new Set());
      components.get(p)!.add(find(k));
    }
    for (const [p, roots] of components) expect(roots.size, `person ${p} is split`).toBe(1);

    // The designed overlaps happen: signed-up customers using the app, the tills and the CRM.
    const cross = h.people.filter((p) => ['web', 'app', 'pos', 'crm'].every((s) => p.facts.sources.has(s as never)));
    expect(cross.length).toBeGreaterThan(5);
    const p = cross[0]!;
    const mine = h.messages.filter((m) => personOf(m.message) === p.index).map((m) => m.message);
    const appLogin = mine.find((m) => m.type === 'identify' && m.anonymousId === p.appAnonymousId)!;
    expect(appLogin.userId).toBe(p.userId);
    expect(p.appAnonymousId).not.toBe(p.webAnonymousId);
    // Till messages carry no user id, only what a till knows.
    for (const m of mine.filter((x) => h.messages.find((y) => y.message === x)!.source === 'pos')) {
      expect(m.userId).toBeUndefined();
      expect(Object.keys((m.context as JsonObject).traits as JsonObject).some((k) => ['crm_id', 'email', 'phone'].includes(k))).toBe(true);
    }
    // The CRM writes the email as typed and the phone in a local format: normalisation joins them.
    const crm = mine.find((m) => h.messages.find((y) => y.message === m)!.source === 'crm')!;
    expect((crm.traits as JsonObject).crm_id).toBe(p.crmId);
    expect(String((crm.traits as JsonObject).email).toLowerCase()).toBe(p.email);
    const phone = String((crm.traits as JsonObject).phone);
    expect(phone).not.toMatch(/^\+\d{11}$/);
    expect(parsePhoneNumberFromString(phone, 'US')?.number).toBe(parsePhoneNumberFromString(p.phone, 'US')?.number);
  });

  it('exercises the example segments and journeys', () => {
    const orders = h.messages.filter((m) => m.message.event === 'Order Completed').map((m) => m.message);
    // new-store-coupon: Order Completed at SH-001 with total >= 500; its exit event Coupon Redeemed.
    expect(orders.filter((m) => props(m).store_id === 'SH-001' && Number(props(m).total) >= 500).length).toBeGreaterThan(3);
    const redeemed = h.messages.filter((m) => m.message.event === 'Coupon Redeemed');
    expect(redeemed.length).toBeGreaterThan(0);
    expect(String(props(redeemed[0]!.message).coupon)).toMatch(/^SH-001-\d+-GIFT$/);
    // high-value: lifetime revenue >= 1000 with email consent.
    expect(h.people.filter((p) => p.facts.revenue >= 1000 && p.consent.email).length).toBeGreaterThan(5);
    // store-sh001-regulars: at least two SH-001 orders in the last 30 days.
    const recentSh = new Map<number, number>();
    for (const m of orders)
      if (props(m).store_id === 'SH-001' && Date.parse(String(m.timestamp)) > now - 30 * DAY) recentSh.set(personOf(m), (recentSh.get(personOf(m)) ?? 0) + 1);
    expect([...recentSh.values()].filter((n) => n >= 2).length).toBeGreaterThan(2);
    // churn-risk: bought, but not in the last 60 days.
    const last = new Map<number, number>();
    for (const m of orders) last.set(personOf(m), Math.max(last.get(personOf(m)) ?? 0, Date.parse(String(m.timestamp))));
    expect([...last.values()].filter((t) => t < now - 60 * DAY).length).toBeGreaterThan(5);
    // Referrals, and the funnel's steps.
    expect(h.messages.some((m) => m.message.event === 'Referral Sent')).toBe(true);
    expect(h.messages.some((m) => m.message.event === 'Signed Up' && typeof props(m.message).referral_code === 'string')).toBe(true);
    for (const e of ['Product Viewed', 'Added to Cart', 'Checkout Started', 'Application Installed'])
      expect(h.messages.some((m) => m.message.event === e)).toBe(true);
    const picks = interestingPeople(h, now);
    expect(picks.crossChannel?.userId).toBeTruthy();
    expect(new Set(Object.values(picks).map((p) => p?.index)).size).toBe(Object.values(picks).length);
  });

  it('cuts the history into per-source requests within the collector limits, in time order', () => {
    const reqs = historyRequests(h.messages, 200);
    expect(reqs.reduce((n, r) => n + r.messages.length, 0)).toBe(h.messages.length);
    let prevDay = '';
    for (const r of reqs) {
      expect(r.messages.length).toBeLessThanOrEqual(200);
      expect(Buffer.byteLength(JSON.stringify({ batch: r.messages }))).toBeLessThan(500 * 1024);
      const day = String(r.messages[0]!.timestamp).slice(0, 10);
      expect(day >= prevDay).toBe(true);
      prevDay = day;
      const src = h.messages.find((m) => m.message === r.messages[0])!.source;
      for (const m of r.messages) expect(h.messages.find((x) => x.message === m)!.source).toBe(src);
    }
  });

  it('live traffic: fresh ids, timestamps at most now, valid messages', () => {
    let n = 0;
    const live = new LiveTraffic(h.people.slice(), 1, () => `live-${++n}`);
    const t = Date.now();
    const out = [...live.tick(t, 50), ...live.tick(t + 90_000, 50)];
    expect(out.length).toBeGreaterThanOrEqual(100);
    expect(new Set(out.map((m) => m.message.messageId)).size).toBe(out.length);
    out.forEach(({ message }, i) => {
      expect(Date.parse(String(message.timestamp))).toBeLessThanOrEqual(t + 90_000);
      expect(() => validateMessage(structuredClone(message), undefined, i)).not.toThrow();
    });
  });
});
