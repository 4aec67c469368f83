/**
 * An in-memory lake bucket for compaction tests (the `CompactionStore` of shared/lake/compact.ts)
 * with a clock and a history: every write and delete is recorded with its time, so a test can ask
 * what the bucket held at any earlier moment — what a query that read at that moment saw.
 */
import { createHash } from 'node:crypto';
import type { CompactionStore, ObjectInfo } from '#shared/lake';

interface Stored {
  body: Uint8Array;
  etag: string;
  lastModified: number;
}

export class Crash extends Error {}

export class MemoryLake implements CompactionStore {
  readonly objects = new Map<string, Stored>();
  /** Objects tagged for expiry, with when (a PUT over the key drops the tag, as on S3). */
  readonly tagged = new Map<string, number>();
  /** Every change, in order: the object after it (undefined: deleted). */
  readonly history: { at: number; key: string; value: Stored | undefined }[] = [];
  now = 0;
  private writes = 0;
  /** Throw Crash on the write or delete after this many more (undefined: never). */
  crashAfter: number | undefined;
  calls: string[] = [];

  private change(key: string, value: Stored | undefined): void {
    if (this.crashAfter !== undefined && this.writes++ >= this.crashAfter) throw new Crash(`crash before changing ${key}`);
    if (value) this.objects.set(key, value);
    else this.objects.delete(key);
    this.tagged.delete(key);
    this.history.push({ at: this.now, key, value });
  }

  /** Writes an object as another writer (normalize) would. */
  write(key: string, body: Uint8Array): void {
    const value = { body, etag: `"${createHash('md5').update(body).digest('hex')}-${this.history.length}"`, lastModified: this.now };
    this.objects.set(key, value);
    this.tagged.delete(key);
    this.history.push({ at: this.now, key, value });
  }

  /** The lifecycle rule: removes the objects tagged at or before `before`. */
  expire(before: number): string[] {
    const gone = [...this.tagged].filter(([, at]) => at <= before).map(([k]) => k);
    for (const key of gone) {
      this.objects.delete(key);
      this.tagged.delete(key);
      this.history.push({ at: this.now, key, value: undefined });
    }
    return gone;
  }

  /** The bucket's objects as they were at `t` (every change at or before it applied). */
  at(t: number): Map<string, Uint8Array> {
    const m = new Map<string, Uint8Array>();
    for (const h of this.history) {
      if (h.at > t) break;
      if (h.value) m.set(h.key, h.value.body);
      else m.delete(h.key);
    }
    return m;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.calls.push(`list ${prefix}`);
    return [...this.objects]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, o]) => ({ key, size: o.body.byteLength, etag: o.etag, lastModified: o.lastModified }));
  }
  async dates(prefix: string): Promise<string[]> {
    const out = new Set<string>();
    for (const k of this.objects.keys()) {
      const d = k.startsWith(prefix) ? /^dt=(\d{4}-\d{2}-\d{2})\//.exec(k.slice(prefix.length))?.[1] : undefined;
      if (d) out.add(d);
    }
    return [...out].sort();
  }
  async get(key: string) {
    const o = this.objects.get(key);
    return o ? { body: o.body, etag: o.etag } : undefined;
  }
  async put(key: string, body: Uint8Array): Promise<void> {
    this.calls.push(`put ${key}`);
    this.change(key, { body, etag: `"${createHash('md5').update(body).digest('hex')}"`, lastModified: this.now });
  }
  async tagForExpiry(key: string): Promise<void> {
    if (!this.objects.has(key)) return;
    this.calls.push(`tag ${key}`);
    if (this.crashAfter !== undefined && this.writes++ >= this.crashAfter) throw new Crash(`crash before tagging ${key}`);
    this.tagged.set(key, this.now);
  }
}
