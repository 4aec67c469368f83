/**
 * An in-memory CouponStore with the same single-item conditions as DynamoCouponStore: for unit and
 * property tests (tests/unit/coupons-property.test.ts interleaves its operations at will), as
 * shared/journeys/memory-store.ts is for the journey state.
 */
import type { CodeItem, CouponStore, Holder, HolderRef, Issued, IssueItem, PoolItem, PoolStat, Redemption, SlotItem } from './store';

const copy = <T>(v: T | undefined): T | null => (v === undefined ? null : structuredClone(v));

export class MemoryCouponStore implements CouponStore {
  readonly pools = new Map<string, PoolItem>();
  readonly slots = new Map<string, SlotItem>();
  readonly codes = new Map<string, CodeItem>();
  readonly issues = new Map<string, IssueItem>();
  readonly stats = new Map<string, Partial<Record<PoolStat, number>>>();
  readonly holders = new Map<string, { issues: Set<string>; redeemed: Set<string> }>();

  async getPool(pool: string) {
    return copy(this.pools.get(pool));
  }

  async takePosition(pool: string) {
    const p = this.pools.get(pool);
    if (!p || !(p.taken < p.loaded)) return null;
    p.taken += 1;
    return copy(p);
  }

  async getSlot(pool: string, position: number) {
    return copy(this.slots.get(`${pool}#${position}`));
  }

  async putSlot(slot: SlotItem) {
    this.slots.set(`${slot.pool}#${slot.position}`, structuredClone(slot));
  }

  async getIssue(runId: string, stepId: string) {
    return copy(this.issues.get(`${runId}#${stepId}`));
  }

  async putIssue(item: IssueItem) {
    const k = `${item.runId}#${item.stepId}`;
    if (this.issues.has(k)) return false;
    this.issues.set(k, structuredClone(item));
    return true;
  }

  async moveIssue(runId: string, stepId: string, from: number, to: Pick<IssueItem, 'position' | 'code' | 'canonical' | 'issuedAt'>) {
    const cur = this.issues.get(`${runId}#${stepId}`);
    if (cur?.position !== from) return false;
    Object.assign(cur, structuredClone(to));
    return true;
  }

  async getCode(canonical: string) {
    return copy(this.codes.get(canonical));
  }

  async putCode(item: CodeItem, expect: { pool: string; position: number } | null) {
    const cur = this.codes.get(item.canonical);
    if (expect === null ? cur !== undefined : !cur || cur.pool !== expect.pool || cur.position !== expect.position || cur.issuedAt || cur.redeemedAt)
      return false;
    this.codes.set(item.canonical, structuredClone(item));
    return true;
  }

  async markIssued(canonical: string, pool: string, position: number, to: Issued) {
    const c = this.codes.get(canonical);
    if (!c || c.pool !== pool || c.position !== position || c.redeemedAt) return false;
    if (c.issuedAt !== undefined && !(c.runId === to.runId && c.stepId === to.stepId)) return false;
    Object.assign(c, to);
    return true;
  }

  async markRedeemed(canonical: string, journeyId: string, r: Redemption) {
    const c = this.codes.get(canonical);
    if (!c || c.redeemedAt !== undefined || (c.journeyId !== undefined && c.journeyId !== journeyId)) return false;
    Object.assign(c, { redeemedAt: r.at, redeemMessageId: r.messageId, redeemProfileId: r.profileId });
    return true;
  }

  async markRedeemedAgain(canonical: string, r: Redemption) {
    const c = this.codes.get(canonical);
    if (!c || c.redeemedAt === undefined || c.redeemMessageId === r.messageId || c.againIds?.includes(r.messageId)) return false;
    c.againIds = [...(c.againIds ?? []), r.messageId];
    return true;
  }

  async addPoolStats(pool: string, counters: Partial<Record<PoolStat, number>>) {
    const s = this.stats.get(pool) ?? {};
    for (const [k, n] of Object.entries(counters) as [PoolStat, number][]) s[k] = (s[k] ?? 0) + n;
    this.stats.set(pool, s);
  }

  async getPoolStats(pool: string) {
    return { ...(this.stats.get(pool) ?? {}) };
  }

  async lease(pool: string, loadId: string, until: number, now: number, lowAt?: number) {
    const at = new Date(now).toISOString();
    const p = this.pools.get(pool) ?? { pool, loaded: 0, taken: 0, generated: 0, createdAt: at, updatedAt: at };
    if (p.loadId !== undefined && (p.loadUntil ?? 0) >= now) return null;
    Object.assign(p, { loadId, loadUntil: until, ...(lowAt !== undefined ? { lowAt } : {}) });
    this.pools.set(pool, p);
    return copy(p);
  }

  async commit(pool: string, loadId: string, from: number, to: number, generated: number, at: string) {
    const p = this.pools.get(pool);
    if (!p || p.loadId !== loadId || p.loaded !== from) return false;
    p.loaded = to;
    p.generated += generated;
    p.updatedAt = at;
    delete p.loadId;
    delete p.loadUntil;
    return true;
  }

  async release(pool: string, loadId: string) {
    const p = this.pools.get(pool);
    if (p?.loadId !== loadId) return;
    delete p.loadId;
    delete p.loadUntil;
  }

  async addHolder(profileId: string, ref: HolderRef) {
    const h = this.holders.get(profileId) ?? { issues: new Set<string>(), redeemed: new Set<string>() };
    if ('issue' in ref) h.issues.add(JSON.stringify([ref.issue.runId, ref.issue.stepId]));
    else h.redeemed.add(ref.redeemed);
    this.holders.set(profileId, h);
  }

  async getHolder(profileId: string): Promise<Holder | null> {
    const h = this.holders.get(profileId);
    if (!h) return null;
    return {
      issues: [...h.issues].map((s) => {
        const [runId, stepId] = JSON.parse(s) as [string, string];
        return { runId, stepId };
      }),
      redeemed: [...h.redeemed],
    };
  }

  async deleteHolder(profileId: string) {
    this.holders.delete(profileId);
  }

  async deleteIssue(runId: string, stepId: string, profileId: string) {
    const k = `${runId}#${stepId}`;
    if (this.issues.get(k)?.profileId !== profileId) return false;
    this.issues.delete(k);
    return true;
  }

  async forgetProfile(canonical: string, profileId: string) {
    const c = this.codes.get(canonical);
    let n = 0;
    if (c?.profileId === profileId) {
      delete c.profileId;
      n++;
    }
    if (c?.redeemProfileId === profileId) {
      delete c.redeemProfileId;
      n++;
    }
    return n;
  }
}
