/**
 * The demo's live traffic, after the history: short bursts of activity at `now` from the simulated
 * people and new visitors (see LiveTraffic). Pure: the CLI (cli/demo.ts) sends what it returns.
 */
import type { JsonObject } from '../message';
import { onlineSession, POS_CONTEXT, storeVisit, tillIds, WEB_CONTEXT, Writer, type DemoMessage } from './events';
import { int, makePersona, pad, pick, rng, type Persona, type Rand } from './world';

/**
 * Live traffic: one short burst of activity at `now` (a session of a known customer, a new visitor,
 * a store purchase, sometimes a big purchase at the new store followed shortly by its coupon).
 * Message ids are random (live messages are new every time).
 */
export class LiveTraffic {
  private readonly r: Rand;
  private readonly pending: { at: number; m: DemoMessage }[] = [];
  private next: number;
  private readonly orderIds = { n: 9_000_000 };
  constructor(
    private readonly people: Persona[],
    seed: number,
    private readonly newId: () => string,
  ) {
    this.r = rng(seed ^ 0x5eed);
    this.next = people.length;
  }

  /** Messages due by `now`, generating about `count` new ones. */
  tick(now: number, count: number): DemoMessage[] {
    const out: DemoMessage[] = [];
    while (out.length < count) {
      const w = new Writer('live');
      const x = this.r();
      const known = this.people.filter((p) => p.kind !== 'browser');
      if (x < 0.15 || !known.length) {
        // A new visitor; a third of them sign up.
        const p = makePersona(this.next++, this.r, { customers: 1, days: 7, seed: 0, now });
        p.kind = 'online';
        p.userId = `cust-${pad(p.index + 1, 6)}`;
        let t = onlineSession(w, this.r, p, now - 60_000, 'web', false, this.orderIds);
        if (this.r() < 0.35) {
          t += 2000;
          w.push('web', p, t, {
            type: 'identify',
            userId: p.userId,
            anonymousId: p.webAnonymousId,
            context: WEB_CONTEXT(p, '/signup', 'Create account'),
            traits: { email: p.email, firstName: p.firstName, lastName: p.lastName, consent: p.consent },
          });
          w.push('web', p, t + 500, {
            type: 'track',
            event: 'Signed Up',
            userId: p.userId,
            anonymousId: p.webAnonymousId,
            context: WEB_CONTEXT(p, '/signup', 'Create account'),
            properties: { method: 'email' },
          });
          this.people.push(p);
        }
      } else if (x < 0.35) {
        const p = pick(this.r, known.filter((q) => q.posCustomerId) as Persona[]) ?? pick(this.r, known);
        if (!p.posCustomerId) continue;
        const store = this.r() < 0.5 ? 'SH-001' : p.homeStore;
        const had = p.facts.bigNewStoreOrder;
        p.facts.bigNewStoreOrder = false; // let the opening offer happen live too
        const back = storeVisit(w, this.r, p, now - 5_000, store, this.orderIds, 0);
        if (had) p.facts.bigNewStoreOrder = true;
        if (back !== undefined) {
          // Redeem the coupon a little later (seconds, not days: it is a demo), so the journey's exit shows.
          const ids = tillIds(this.r, p);
          const last = w.out[w.out.length - 1]!.message.properties as JsonObject;
          const due = now + int(this.r, 20, 60) * 1000;
          this.pending.push({
            at: due,
            m: {
              source: 'pos',
              message: {
                type: 'track',
                event: 'Coupon Redeemed',
                anonymousId: p.posCustomerId,
                context: POS_CONTEXT('SH-001', ids),
                properties: { coupon: `${last.order_id}-GIFT`, discount: 50, currency: 'USD', store_id: 'SH-001' },
              },
            },
          });
        }
      } else {
        const p = pick(
          this.r,
          known.filter((q) => q.userId),
        );
        if (!p) continue;
        onlineSession(w, this.r, p, now - 30_000, p.appAnonymousId && this.r() < 0.5 ? 'app' : 'web', true, this.orderIds);
      }
      for (const m of w.out) out.push(m);
    }
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const it = this.pending[i]!;
      if (it.at > now) continue;
      this.pending.splice(i, 1);
      out.push({ source: it.m.source, message: { ...it.m.message, timestamp: new Date(now).toISOString() } });
    }
    // Live timestamps are within the last minute; message ids are fresh.
    for (const m of out) {
      m.message.messageId = this.newId();
      if (Date.parse(String(m.message.timestamp)) > now) m.message.timestamp = new Date(now).toISOString();
    }
    return out;
  }
}
