/**
 * `cairn import <file.csv|file.jsonl> --type identify|track`: bulk import of a CRM or shop export
 * through the collector (`/v1/batch`), so imported rows take the same path as live events (normalize,
 * lake, identity resolution, profiles, segments, journeys).
 *
 * - The file is streamed (CSV through `CsvParser`, JSON Lines line by line); requests go out one at a
 *   time, in file order, while the next batch is parsed, so a later row wins over an earlier one.
 * - Each row becomes one message whose `messageId` is a hash of its normalised content: re-importing
 *   the same file changes nothing (the collector's dedup drops the repeats) and identical rows in the
 *   file are sent once.
 * - A bad row never stops the import: it goes to the rejects file with its line number and reason.
 */
import { createReadStream, createWriteStream, existsSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { CairnError } from '#shared/errors';
import { identityConfig } from '#shared/identity';
import { defaultCountry } from '#shared/normalize';
import type { JsonObject } from '#shared/message';
import {
  DELIMITERS,
  type Delimiter,
  planColumns,
  rowToMessage,
  usage,
  type FieldTarget,
  type ImportType,
  isJsonLines,
  planHeader,
  readRows as readRowStream,
  RejectsEncoder,
  type Row,
} from '#shared/import';
import { collectPost, type Answer, type Target } from './http';
import { batchBodies, MAX_BATCH_MESSAGES } from './send';
import { sleep } from '#shared/lang';

export type { ImportType };

export interface ImportOptions {
  /** Path of the input file (`.csv`, `.tsv`, `.txt`: CSV; `.jsonl`, `.ndjson`: JSON Lines). */
  file: string;
  /** Directory `file` and `rejects` are relative to (default: the process's). */
  cwd?: string;
  type: ImportType;
  /** Event name for every row (track), unless a column is mapped to `event`. */
  event?: string;
  /** `Column=path` specs (`--map`). */
  map?: string[];
  /** Import only the mapped columns. */
  onlyMapped?: boolean;
  /** CSV delimiter; default: detected from the header line. */
  delimiter?: Delimiter;
  /** Rejects file path; default `<file>.rejects.csv` (`.rejects.jsonl` for JSON Lines). */
  rejects?: string;
  /** `bar`: a redrawn progress bar (TTY); `lines`: a plain line every few seconds; `none`. */
  progress?: 'bar' | 'lines' | 'none';
  /** Messages per chunk handed to the sender (split further by the request limits). Default 2,500. */
  chunkSize?: number;
  /** Writes progress (stderr). */
  stderr?: (s: string) => void;
  /** Seconds between plain progress lines. Default 5. */
  progressIntervalSeconds?: number;
}

export interface RejectedRow {
  line: number;
  reason: string;
}

export interface ImportSummary {
  file: string;
  type: ImportType;
  format: 'csv' | 'jsonl';
  delimiter?: string;
  /** Data rows read (header and blank lines not counted). */
  rowsRead: number;
  /** Distinct rows the collector accepted. */
  accepted: number;
  rejected: number;
  /** Rows identical to an earlier row of the file (same messageId): sent once. */
  duplicates: number;
  requests: number;
  elapsedMs: number;
  rowsPerSecond: number;
  /** Path of the rejects file, when there were rejects. */
  rejectsFile?: string;
  /** The first rejects (at most 20). */
  firstRejects: RejectedRow[];
  /** Set when the import stopped early (stack down, credentials refused): the reason. */
  aborted?: string;
}

// ---------------------------------------------------------------------------------------------
// Mapping, values, timestamps, identity, messageIds: shared/import/map.ts (λ import uses them too).

export {
  importAnonymousId,
  importMessageId,
  IMPORT_LIBRARY,
  isCodeName,
  parseTargetPath,
  parseTimestamp,
  planColumns,
  rowToMessage,
  typedValue,
} from '#shared/import';
export type { FieldTarget, RowResult } from '#shared/import';

// ---------------------------------------------------------------------------------------------
// Reading (the parsers are in shared/import/rows.ts).

export { isJsonLines };

/** The file's rows after the header, in order; `onHeader` is called once with the columns. */
const readRows = (
  path: string,
  format: 'csv' | 'jsonl',
  delimiter: Delimiter | undefined,
  onBytes: (n: number) => void,
  onHeader: (header: string[], delimiter?: Delimiter) => void,
  onNewColumns?: (columns: string[]) => void,
): AsyncGenerator<Row> => readRowStream(createReadStream(path, { highWaterMark: 256 * 1024 }), path, format, delimiter, onBytes, onHeader, onNewColumns);

// ---------------------------------------------------------------------------------------------
// Rejects (lines encoded by shared/import/rows.ts RejectsEncoder).

class RejectsWriter {
  private out: WriteStream | undefined;
  private readonly encoder: RejectsEncoder;
  count = 0;
  constructor(
    readonly path: string,
    format: 'csv' | 'jsonl',
    delimiter: string,
    /** The input's header: its columns are written back, without an earlier import's `_line`/`_reason`. */
    fileHeader: readonly string[],
  ) {
    this.encoder = new RejectsEncoder(format, delimiter, fileHeader);
  }
  write(row: Row, reason: string) {
    if (!this.out) {
      this.out = createWriteStream(this.path);
      const h = this.encoder.header();
      if (h) this.out.write(h);
    }
    this.count++;
    this.out.write(this.encoder.line(row, reason));
  }
  async close() {
    const out = this.out;
    if (!out) return;
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
  }
}

// ---------------------------------------------------------------------------------------------
// Progress.

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

class Progress {
  private last = 0;
  private readonly t0 = Date.now();
  constructor(
    private readonly mode: 'bar' | 'lines' | 'none',
    private readonly total: number,
    private readonly write: (s: string) => void,
    private readonly intervalMs: number,
  ) {}
  update(rows: number, bytes: number, accepted: number, force = false) {
    if (this.mode === 'none') return;
    const now = Date.now();
    if (!force && now - this.last < (this.mode === 'bar' ? 100 : this.intervalMs)) return;
    this.last = now;
    const pct = this.total > 0 ? Math.min(100, (bytes / this.total) * 100) : 100;
    const rate = rows / Math.max(0.001, (now - this.t0) / 1000);
    if (this.mode === 'bar') {
      const width = 30;
      const full = Math.round((pct / 100) * width);
      this.write(
        `\r\x1b[K[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${pct.toFixed(0).padStart(3)}%  ${fmt(rows)} rows  ${fmt(accepted)} sent  ${fmt(rate)} rows/s`,
      );
    } else this.write(`import: ${pct.toFixed(0)}% of the file, ${fmt(rows)} rows read, ${fmt(accepted)} sent, ${fmt(rate)} rows/s\n`);
  }
  done() {
    if (this.mode === 'bar') this.write('\r\x1b[K');
  }
}

// ---------------------------------------------------------------------------------------------
// Sending.

interface Pending {
  row: Row;
  message: JsonObject;
}

/** Posts one body (collectPost retries 429 and 5xx); an unreachable stack is tried again a few times. */
async function post(target: Target, body: string): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await collectPost(target, '/v1/batch', body);
    } catch (e) {
      if (attempt >= 4) throw e;
      await sleep(250 * 2 ** attempt);
    }
  }
}

const errorText = (a: Answer) => {
  const e = (a.json as { error?: { code?: string; message?: string } } | undefined)?.error;
  return e?.message ? `${e.code ?? a.status}: ${e.message}` : `HTTP ${a.status}`;
};

/** Fatal answers stop the import (credentials, stack errors); 400/413 are the rows' fault. */
function fatal(a: Answer): CairnError | undefined {
  if (a.status === 401 || a.status === 403)
    return new CairnError('unauthorized', `${a.status}: the collector refused the write key (check --write-key / CAIRN_WRITE_KEY)`, a.status);
  if (a.status !== 200 && a.status !== 400 && a.status !== 413) return new CairnError(`http_${a.status}`, `the collector answered ${errorText(a)}`, a.status);
  return undefined;
}

/** Sends a chunk; rows the collector refuses are passed to `reject`. Resolves to [accepted, requests]. */
async function sendChunk(target: Target, chunk: Pending[], reject: (p: Pending, reason: string) => void): Promise<[number, number]> {
  let accepted = 0;
  let requests = 0;
  for (const { first, count, body } of batchBodies({ messages: chunk.map((p) => p.message), envelope: {} })) {
    const a = await post(target, body);
    requests++;
    const f = fatal(a);
    if (f) throw f;
    if (a.status === 200) {
      accepted += count;
      continue;
    }
    // A batch is accepted or rejected whole: find the offending rows one by one.
    for (const p of chunk.slice(first, first + count)) {
      const one = await post(target, JSON.stringify({ batch: [p.message] }));
      requests++;
      const f1 = fatal(one);
      if (f1) throw f1;
      if (one.status === 200) accepted++;
      else reject(p, `refused by the collector: ${errorText(one).replace(/^(\S+): batch\[0\]\.?/, '$1: ')}`);
    }
  }
  return [accepted, requests];
}

// ---------------------------------------------------------------------------------------------
// The import.

export function defaultRejectsPath(file: string): string {
  return `${file}.rejects.${isJsonLines(file) ? 'jsonl' : 'csv'}`;
}

/** Parses `--delimiter`: `,`, `;`, `tab`, `\t` (or a literal tab). */
export function parseDelimiter(s: string): Delimiter {
  const d = s === 'tab' || s === '\\t' ? '\t' : s;
  if (!(DELIMITERS as readonly string[]).includes(d)) throw usage(`--delimiter must be one of , ; tab, got ${JSON.stringify(s)}`);
  return d as Delimiter;
}

/** Runs an import into `target`; throws a CairnError (with `summary` in details) when it stopped early. */
export async function importFile(target: Target, opts: ImportOptions): Promise<ImportSummary> {
  const t0 = Date.now();
  const cwd = opts.cwd ?? process.cwd();
  const path = resolve(cwd, opts.file);
  if (opts.type !== 'identify' && opts.type !== 'track') throw usage(`--type must be identify or track, got ${JSON.stringify(opts.type)}`);
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw usage(`${opts.file} is not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof CairnError) throw e;
    throw usage(`cannot read ${opts.file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const format = isJsonLines(path) ? 'jsonl' : 'csv';
  // The same settings λ import reads (docs/cli.md): CAIRN_IDENTITY_CONFIG, CAIRN_DEFAULT_COUNTRY.
  const config = identityConfig(process.env.CAIRN_IDENTITY_CONFIG || undefined);
  const country = defaultCountry(process.env.CAIRN_DEFAULT_COUNTRY);
  const rejectsPath = opts.rejects !== undefined ? resolve(cwd, opts.rejects) : defaultRejectsPath(path);
  if (rejectsPath === path) throw usage('--rejects must not be the input file');
  const stderr = opts.stderr ?? (() => {});
  const progress = new Progress(opts.progress ?? 'none', size, stderr, (opts.progressIntervalSeconds ?? 5) * 1000);

  let header: string[] = [];
  let plan: FieldTarget[] = [];
  let rejects: RejectsWriter | undefined;
  let delimiter: Delimiter | undefined = opts.delimiter;
  const first: RejectedRow[] = [];
  const seen = new Set<string>();
  let rowsRead = 0;
  let accepted = 0;
  let duplicates = 0;
  let requests = 0;
  let bytes = 0;
  let aborted: CairnError | undefined;

  const reject = (row: Row, reason: string) => {
    rejects!.write(row, reason);
    if (first.length < 20) first.push({ line: row.line, reason });
  };

  const onHeader = (h: string[], d?: Delimiter) => {
    header = h;
    delimiter = d ?? delimiter;
    plan = planHeader(h, format, delimiter, opts, config);
    rejects = new RejectsWriter(rejectsPath, format, delimiter ?? ',', h);
  };

  let chunk: Pending[] = [];
  let inflight: Promise<void> = Promise.resolve();
  const chunkSize = opts.chunkSize ?? MAX_BATCH_MESSAGES;
  const flush = async () => {
    await inflight;
    if (aborted || !chunk.length) return;
    const c = chunk;
    chunk = [];
    inflight = sendChunk(target, c, (p, reason) => reject(p.row, reason)).then(
      ([a, r]) => {
        accepted += a;
        requests += r;
      },
      (e: unknown) => {
        aborted = e instanceof CairnError ? e : new CairnError('import_failed', (e as Error).message, 500);
      },
    );
  };

  try {
    for await (const row of readRows(
      path,
      format,
      opts.delimiter,
      (n) => (bytes += n),
      onHeader,
      (cols) => plan.push(...planColumns(cols, { ...opts, map: [] }, config)),
    )) {
      rowsRead++;
      if (row.error || !row.values) reject(row, row.error ?? 'unreadable line');
      else {
        const r = rowToMessage(header, plan, row.values, opts, config, country);
        if (!r.ok) reject(row, r.reason);
        else {
          const id = r.message.messageId as string;
          if (seen.has(id)) duplicates++;
          else {
            seen.add(id);
            chunk.push({ row, message: r.message });
            if (chunk.length >= chunkSize) await flush();
          }
        }
      }
      if (aborted) break;
      progress.update(rowsRead, bytes, accepted);
    }
    await flush();
    await inflight;
    progress.update(rowsRead, bytes, accepted, true);
  } finally {
    progress.done();
    await rejects?.close();
  }
  if (rejects && rejects.count === 0 && opts.rejects === undefined && existsSync(rejectsPath)) rmSync(rejectsPath); // a stale one from an earlier run
  const elapsedMs = Date.now() - t0;
  const summary: ImportSummary = {
    file: opts.file,
    type: opts.type,
    format,
    ...(format === 'csv' ? { delimiter: delimiter === '\t' ? 'tab' : delimiter } : {}),
    rowsRead,
    accepted,
    rejected: rejects?.count ?? 0,
    duplicates,
    requests,
    elapsedMs,
    rowsPerSecond: Math.round(rowsRead / Math.max(0.001, elapsedMs / 1000)),
    ...(rejects?.count ? { rejectsFile: rejectsPath } : {}),
    firstRejects: first,
    ...(aborted ? { aborted: aborted.message } : {}),
  };
  if (aborted) {
    throw new CairnError(aborted.code, `import stopped after ${fmt(accepted)} of ${fmt(rowsRead)} rows: ${aborted.message}`, aborted.status, { summary });
  }
  return summary;
}

/** The human-readable summary. */
export function renderImportSummary(s: ImportSummary, maxRejects = 5): string {
  const rows: [string, string][] = [
    ['rows read', fmt(s.rowsRead)],
    ['accepted', fmt(s.accepted)],
    ['duplicates', `${fmt(s.duplicates)}${s.duplicates ? ' (identical rows, sent once)' : ''}`],
    ['rejected', `${fmt(s.rejected)}${s.rejectsFile ? ` → ${s.rejectsFile}` : ''}`],
    ['requests', fmt(s.requests)],
    ['elapsed', `${(s.elapsedMs / 1000).toFixed(1)} s (${fmt(s.rowsPerSecond)} rows/s)`],
  ];
  let out = `imported ${s.file} as ${s.type}${s.delimiter ? ` (delimiter ${s.delimiter === 'tab' ? 'tab' : JSON.stringify(s.delimiter)})` : ''}\n`;
  for (const [k, v] of rows) out += `  ${k.padEnd(11)} ${v}\n`;
  if (s.firstRejects.length) {
    out += `first rejects:\n`;
    for (const r of s.firstRejects.slice(0, maxRejects)) out += `  line ${r.line}: ${r.reason}\n`;
    if (s.rejected > maxRejects) out += `  … ${fmt(s.rejected - maxRejects)} more in ${s.rejectsFile}\n`;
  }
  if (s.aborted) out += `stopped early: ${s.aborted}\n`;
  return out;
}
