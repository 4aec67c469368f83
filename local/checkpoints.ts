/**
 * Event-source-mapping checkpoints: per (function, stream, shard), the sequence number of the last
 * record the function processed (or that went to the on-failure destination). Kept in one JSON file
 * under the data directory, written atomically (temp file + fsync + rename) so a crash can never
 * leave a torn file. A checkpoint only ever moves after success, so a restart resumes right after
 * the last processed record: records may be delivered twice, never skipped.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { log } from '#shared/log';

export class CheckpointStore {
  private readonly data: Record<string, string> = {};
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  /** `flushDelayMs`: writes are coalesced for this long (a crash may re-deliver, never skip). */
  constructor(
    readonly file: string,
    private readonly flushDelayMs = 100,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { checkpoints?: Record<string, string> };
      Object.assign(this.data, parsed.checkpoints ?? {});
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  static key(fn: string, stream: string, shardId: string): string {
    return `${fn}/${stream}/${shardId}`;
  }

  get(key: string): string | undefined {
    return this.data[key];
  }

  all(): Record<string, string> {
    return { ...this.data };
  }

  /** Records `seq` as processed; persisted within `flushDelayMs`. */
  set(key: string, seq: string): void {
    this.data[key] = seq;
    this.dirty = true;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush().catch((e) => log('warn', 'checkpoint write failed; will retry', { error: (e as Error).message }));
      }, this.flushDelayMs);
      this.timer.unref();
    }
  }

  /** Writes pending checkpoints now; resolves once they are durable. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        if (!this.dirty) return;
        this.dirty = false;
        try {
          await this.write();
        } catch (e) {
          this.dirty = true;
          throw e;
        }
      });
    return this.writing;
  }

  private async write(): Promise<void> {
    const body = JSON.stringify({ version: 1, updatedAt: new Date().toISOString(), checkpoints: this.data }, null, 2);
    const tmp = join(dirname(this.file), `.${process.pid}.checkpoints.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
  }
}

/**
 * One shard's checkpoint as its poller (poller.ts) sees it: where reading starts (and restarts after
 * an unexpected failure), moved only after a batch succeeded or went to the on-failure destination.
 */
export class ShardCheckpoint {
  private readonly key: string;
  constructor(
    private readonly store: CheckpointStore,
    fn: string,
    stream: string,
    shardId: string,
  ) {
    this.key = CheckpointStore.key(fn, stream, shardId);
  }

  /** Sequence number of the last processed record; undefined before the first. */
  get(): string | undefined {
    return this.store.get(this.key);
  }

  set(seq: string): void {
    this.store.set(this.key, seq);
  }
}
