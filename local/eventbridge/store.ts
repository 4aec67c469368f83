/**
 * Durable local state for the emulated bus and scheduler: JSON documents written atomically
 * (temp file + rename) and an append-only journal with group commit, replayed on start.
 */
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

let tmpCounter = 0;
const tmpName = (file: string) => `${file}.${process.pid}.${Date.now()}.${tmpCounter++}.tmp`;

/** Writes `data` as JSON to `file` atomically: readers see the old or the new document, never half of one. */
export function writeJsonAtomicSync(file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = tmpName(file);
  writeFileSync(tmp, JSON.stringify(data, null, 1));
  renameSync(tmp, file);
}

export function readJson<T>(file: string, fallback: T): T {
  if (!existsSync(file)) return fallback;
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Reads a JSON-lines file, skipping a torn last line (a crash mid-append). */
export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // torn write: ignore
    }
  }
  return out;
}

/**
 * Append-only JSON-lines journal. `append` resolves once the records are written; appends made
 * while a write is in flight are committed together in the next write. `rewrite` atomically
 * replaces the file with a snapshot, ordered with respect to appends.
 */
export class Journal {
  private buf: string[] = [];
  private next: Promise<void> | null = null;
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  append(records: object[]): Promise<void> {
    for (const r of records) this.buf.push(JSON.stringify(r) + '\n');
    if (!this.next) {
      const batch = this.tail.then(async () => {
        this.next = null;
        const data = this.buf.join('');
        this.buf = [];
        if (data) await appendFile(this.file, data);
      });
      this.next = batch;
      this.tail = batch.catch(() => undefined);
    }
    return this.next;
  }

  /** Replaces the journal with `snapshot()` (called when the rewrite runs, after earlier appends). */
  rewrite(snapshot: () => object[]): Promise<void> {
    const run = this.tail.then(async () => {
      const tmp = tmpName(this.file);
      await writeFile(
        tmp,
        snapshot()
          .map((r) => JSON.stringify(r) + '\n')
          .join(''),
      );
      await rename(tmp, this.file);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves when everything appended so far is on disk. */
  flush(): Promise<void> {
    return this.buf.length ? this.append([]) : this.tail;
  }
}
