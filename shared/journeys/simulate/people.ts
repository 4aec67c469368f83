/**
 * People as they were (docs/journeys.md#simulation): the lake's `profiles` rows of a window, read as
 * "the profile at time t", and the events of `events` assigned to the profile they were resolved to.
 *
 * - An event's profile: the profile holding its `user_id` identity, else its `anonymous_id` (the one
 *   that held it first, once it held it by the time the event was resolved), followed to the survivor
 *   of any merge written by then.
 * - The profile λ journey read for an event: the row the resolve batch that included the event wrote
 *   (the first row written within SETTLE_MS after the event reached the pipeline), else the latest
 *   row before it. For a wait that ends: the latest row at that moment.
 * - What rows do not hold is rebuilt from the events: the audience's and branches' event counts
 *   (`counters`, which λ resolve keeps on the profile item only), and traits a simulated `traits`
 *   step set (`overlay`).
 */
import { applyComputedTrait, type ComputedState, type EventCounter, type JsonObject } from '../../definitions';
import type { ProfileRecord } from '../../identity';
import type { HistoryEvent, ProfileRow } from './history';

/** How long after an event reached the pipeline its resolve batch may write the profile. */
export const SETTLE_MS = 60_000;

const key = (type: string, value: string) => `${type}\u0000${value}`;

export class People {
  private readonly rows = new Map<string, ProfileRow[]>();
  /** Identity → the profiles holding it, with the first time each did (earliest first). */
  private readonly holders = new Map<string, { profileId: string; since: number }[]>();
  private readonly counters = new Map<string, Record<string, ComputedState>>();
  private readonly overlay = new Map<string, JsonObject>();

  constructor(rows: ProfileRow[]) {
    for (const r of [...rows].sort((a, b) => a.updatedAt - b.updatedAt)) {
      const list = this.rows.get(r.profileId) ?? [];
      list.push(r);
      this.rows.set(r.profileId, list);
      for (const i of r.record.identities) {
        const k = key(i.type, i.value);
        const h = this.holders.get(k) ?? [];
        if (!h.some((x) => x.profileId === r.profileId)) h.push({ profileId: r.profileId, since: r.updatedAt });
        this.holders.set(k, h);
      }
    }
  }

  /** How many distinct profiles the rows hold. */
  get size(): number {
    return this.rows.size;
  }

  /** Every profile id with its rows, oldest first (segment changes are read from them). */
  entries(): IterableIterator<[string, ProfileRow[]]> {
    return this.rows.entries();
  }

  /** When the resolve batch that included an event received at `at` wrote `profileId` (else `at`). */
  written(profileId: string, at: number): number {
    const r = this.rows.get(profileId)?.find((x) => x.updatedAt >= at && x.updatedAt <= at + SETTLE_MS);
    return r?.updatedAt ?? at;
  }

  /** The latest row of `profileId` at `t`, else its first (a profile whose first row came later). */
  private row(profileId: string, t: number): ProfileRow | undefined {
    const list = this.rows.get(profileId);
    if (!list?.length) return undefined;
    let found: ProfileRow | undefined;
    for (const r of list) {
      if (r.updatedAt > t) break;
      found = r;
    }
    return found ?? list[0];
  }

  /** The survivor `profileId` was merged into by `t` (itself when not merged). */
  live(profileId: string, t: number): string {
    let id = profileId;
    for (let depth = 0; depth < 16; depth++) {
      const into = this.row(id, t)?.record.mergedInto;
      if (!into || this.row(id, t)!.updatedAt > t) return id;
      id = into;
    }
    return id;
  }

  /** The live profile an event received at `at` was resolved to, or null when no row holds its user id or anonymous id. */
  ofEvent(m: HistoryEvent['message'], at: number): string | null {
    for (const [type, value] of [
      ['user_id', m.userId],
      ['anonymous_id', m.anonymousId],
    ] as const) {
      if (typeof value !== 'string') continue;
      const h = this.holders.get(key(type, value));
      if (!h?.length) continue;
      const first = h.find((x) => x.since <= at + SETTLE_MS) ?? h[0]!;
      return this.live(first.profileId, this.written(first.profileId, at));
    }
    return null;
  }

  /** The profile record at `t` (its survivor's, after a merge), with the rebuilt counters and overlay; null when no row holds it. */
  at(profileId: string, t: number): ProfileRecord | null {
    const id = this.live(profileId, t);
    const r = this.row(id, t);
    if (!r) return null;
    const counters = this.counters.get(id);
    const traits = this.overlay.get(id);
    if (!counters && !traits) return r.record;
    return {
      ...r.record,
      ...(traits ? { traits: { ...r.record.traits, ...traits } } : {}),
      extra: { ...r.record.extra, ...(counters ? { counters } : {}) },
    };
  }

  /** Folds an event into the person's event counts (λ resolve's `counters`), before λ journey reads the profile. */
  count(profileId: string, counters: EventCounter[], e: HistoryEvent): void {
    const mine = counters.filter((c) => c.event === e.message.event);
    if (!mine.length) return;
    const state = { ...this.counters.get(profileId) };
    for (const c of mine) state[c.key] = applyComputedTrait(c, state[c.key], e.message as Parameters<typeof applyComputedTrait>[2]);
    this.counters.set(profileId, state);
  }

  /** Traits a simulated `traits` step set (null: unset): later reads of the profile see them, as after the pipeline applied them. */
  setTraits(profileId: string, traits: JsonObject): void {
    this.overlay.set(profileId, { ...this.overlay.get(profileId), ...traits });
  }
}
