/**
 * An in-memory IdentityStore with the same conditional semantics as the DynamoDB adapter (records
 * are copied in and out, as if serialised). Used by the property tests; `gate` lets a test scheduler
 * interleave concurrent operations and `crashAfter` injects a failure after N writes.
 */
import { lakeIndexItem } from './lake-index';
import type { GroupRecord, IdentityItem, IdentityStore, LakeIndexEntry, ProfileRecord, ReadRequest, ReadResult, ShardMarker, TimelineItem } from './types';

export interface MemoryStoreOptions {
  /** Awaited before every operation (e.g. a fast-check scheduler's `schedule`). */
  gate?: () => Promise<unknown>;
}

export class InjectedCrash extends Error {
  constructor() {
    super('injected crash');
  }
}

export class MemoryStore implements IdentityStore {
  readonly identities = new Map<string, IdentityItem>();
  readonly profiles = new Map<string, ProfileRecord>();
  readonly groups = new Map<string, GroupRecord>();
  readonly timeline = new Map<string, Map<string, TimelineItem>>();
  /** Lake index items: profileId → sk → keys. */
  readonly lakeIndex = new Map<string, Map<string, string[]>>();
  readonly markers = new Map<string, ShardMarker>();
  /** Throws InjectedCrash on the write after this many more writes (then resets). */
  crashAfter: number | undefined;
  ops = { reads: 0, writes: 0, conflicts: 0 };

  constructor(private readonly opts: MemoryStoreOptions = {}) {}

  private async gate() {
    if (this.opts.gate) await this.opts.gate();
  }
  private async write() {
    await this.gate();
    if (this.crashAfter !== undefined) {
      if (this.crashAfter <= 0) {
        this.crashAfter = undefined;
        throw new InjectedCrash();
      }
      this.crashAfter--;
    }
    this.ops.writes++;
  }

  async read(req: ReadRequest): Promise<ReadResult> {
    await this.gate();
    this.ops.reads++;
    const out: ReadResult = { identities: new Map(), profiles: new Map(), groups: new Map(), markers: new Map() };
    for (const k of req.markers ?? []) {
      const v = this.markers.get(k);
      if (v) out.markers!.set(k, structuredClone(v));
    }
    for (const k of req.identities ?? []) {
      const v = this.identities.get(k);
      if (v) out.identities.set(k, { ...v });
    }
    for (const k of req.profiles ?? []) {
      const v = this.profiles.get(k);
      if (v) out.profiles.set(k, structuredClone(v));
    }
    for (const k of req.groups ?? []) {
      const v = this.groups.get(k);
      if (v) out.groups.set(k, structuredClone(v));
    }
    return out;
  }

  async claimIdentity(key: string, to: string, from: string | null): Promise<boolean> {
    await this.write();
    const cur = this.identities.get(key);
    const ok = cur ? cur.profileId === to || (from !== null && cur.profileId === from) : from === null;
    if (!ok) {
      this.ops.conflicts++;
      return false;
    }
    this.identities.set(key, { key, profileId: to, cnt: cur?.cnt ?? 0, ...(cur?.blocked ? { blocked: true } : {}) });
    return true;
  }

  async addIdentityCount(key: string, n: number): Promise<void> {
    await this.write();
    const cur = this.identities.get(key);
    if (cur) this.identities.set(key, { ...cur, cnt: cur.cnt + n });
  }

  async putProfile(rec: ProfileRecord, expected: number | null): Promise<boolean> {
    await this.write();
    const cur = this.profiles.get(rec.profileId);
    if (expected === null ? cur !== undefined : cur?.version !== expected) {
      this.ops.conflicts++;
      return false;
    }
    this.profiles.set(rec.profileId, structuredClone(rec));
    return true;
  }

  /** One write per record, in order (a crash injected midway leaves the first ones written). */
  async createProfiles(recs: ProfileRecord[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const rec of recs) out.push(await this.putProfile(rec, null));
    return out;
  }

  async claimNewIdentities(claims: { key: string; to: string }[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const c of claims) out.push(await this.claimIdentity(c.key, c.to, null));
    return out;
  }

  async putGroup(rec: GroupRecord, expected: number | null): Promise<boolean> {
    await this.write();
    const cur = this.groups.get(rec.groupId);
    if (expected === null ? cur !== undefined : cur?.version !== expected) {
      this.ops.conflicts++;
      return false;
    }
    this.groups.set(rec.groupId, structuredClone(rec));
    return true;
  }

  async putTimeline(items: TimelineItem[], index: LakeIndexEntry[] = []): Promise<void> {
    await this.write();
    for (const it of items) {
      let m = this.timeline.get(it.profileId);
      if (!m) this.timeline.set(it.profileId, (m = new Map()));
      m.set(it.sk, structuredClone(it));
    }
    for (const e of index) {
      const it = lakeIndexItem(e);
      let m = this.lakeIndex.get(it.profileId);
      if (!m) this.lakeIndex.set(it.profileId, (m = new Map()));
      m.set(it.sk, it.k);
    }
  }

  async blockIdentity(key: string): Promise<boolean> {
    await this.write();
    const cur = this.identities.get(key);
    if (!cur) return false;
    this.identities.set(key, { ...cur, blocked: true });
    return true;
  }

  async deleteTimeline(items: { profileId: string; sk: string }[]): Promise<void> {
    await this.write();
    for (const it of items) this.timeline.get(it.profileId)?.delete(it.sk);
  }

  async putMarker(m: ShardMarker): Promise<void> {
    await this.write();
    this.markers.set(m.shardId, structuredClone(m));
  }

  async queryTimeline(profileId: string, opts: { limit: number; before?: string }): Promise<TimelineItem[]> {
    await this.gate();
    const m = this.timeline.get(profileId);
    if (!m) return [];
    return [...m.values()]
      .filter((i) => opts.before === undefined || i.sk < opts.before)
      .sort((a, b) => (a.sk < b.sk ? 1 : -1))
      .slice(0, opts.limit)
      .map((i) => structuredClone(i));
  }
}
