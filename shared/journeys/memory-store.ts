/**
 * An in-memory JourneyStore with the same conditional semantics as DynamoJourneyStore (versioned
 * state writes, claim-once ledger, settle only from `sending`): for tests of λ journey's shell and
 * for property tests, as shared/identity/memory-store.ts is for resolve.
 */
import type { PersonState } from './machine';
import { statsKey, statsKeys, statsShard, sumCounters, type JourneyStore, type LedgerItem } from './store';

export class MemoryJourneyStore implements JourneyStore {
  readonly states = new Map<string, PersonState>();
  readonly ledger = new Map<string, LedgerItem>();
  /** Counter items by key, as in the table: `stats#<journey>#v<version>#<n>` (and the keys of before versions, if a test puts them). */
  readonly stats = new Map<string, Record<string, number>>();

  async getState(journeyId: string, profileId: string): Promise<PersonState | null> {
    return structuredClone(this.states.get(`${journeyId}#${profileId}`) ?? null);
  }

  async putState(s: PersonState, expected: number): Promise<boolean> {
    const key = `${s.journeyId}#${s.profileId}`;
    if ((this.states.get(key)?.version ?? 0) !== expected) return false;
    this.states.set(key, structuredClone(s));
    return true;
  }

  async claim(item: LedgerItem): Promise<boolean> {
    const key = `${item.runId}#${item.stepId}`;
    if (this.ledger.has(key)) return false;
    this.ledger.set(key, { ...item });
    return true;
  }

  async getLedger(runId: string, stepId: string): Promise<LedgerItem | null> {
    return this.ledger.get(`${runId}#${stepId}`) ?? null;
  }

  async settle(
    runId: string,
    stepId: string,
    outcome: { status: 'sent' | 'failed' | 'skipped'; reason?: string; attempts?: number; result?: string },
  ): Promise<boolean> {
    const key = `${runId}#${stepId}`;
    const cur = this.ledger.get(key);
    if (cur?.status !== 'sending') return false;
    this.ledger.set(key, { ...cur, ...outcome });
    return true;
  }

  async addStats(journeyId: string, counters: Record<string, number>, shardKey: string, version?: number): Promise<void> {
    const key = statsKey(journeyId, statsShard(shardKey), version);
    const s = this.stats.get(key) ?? {};
    for (const [k, n] of Object.entries(counters)) if (n !== 0) s[k] = (s[k] ?? 0) + n;
    this.stats.set(key, s);
  }

  async getStats(journeyId: string, versions: number[] = []): Promise<Map<number, Record<string, number>>> {
    const keys = statsKeys(journeyId, versions);
    const out = new Map<number, Record<string, number>>([[0, {}], ...versions.map((v): [number, Record<string, number>] => [v, {}])]);
    for (const [key, item] of this.stats) if (keys.has(key)) sumCounters(out.get(keys.get(key)!)!, item);
    return out;
  }
}
