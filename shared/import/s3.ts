/**
 * λ import: a file dropped under `imports/` in the lake bucket is imported through the pipeline,
 * entering it where the collector does (the raw stream), with the options of its manifest, and a
 * report and a rejects file written beside it (docs/import.md).
 *
 * - Triggers: an object created under `imports/` (S3 event notification, or its EventBridge form on
 *   AWS). A data file runs when its manifest exists; a manifest runs when its data file exists; so
 *   the two may be uploaded in either order. A checkpoint resumes a long import (below).
 * - Streaming: the object body is parsed as it arrives (shared/import/rows.ts), rows are mapped
 *   (shared/import/map.ts), checked exactly as the collector checks a message (prepareMessages) and
 *   put on the raw stream in PutRecords chunks, one chunk in flight while the next is parsed, at most
 *   IMPORT_RATE records per second so live traffic keeps its share of the stream.
 * - Idempotent: messageIds are deterministic (same row, same id; the pipeline's dedup drops repeats),
 *   and a file already imported with the same ETag and the same manifest is skipped outright.
 * - Long files: when less than IMPORT_CHECKPOINT_MARGIN_MS of the invocation is left, the progress is
 *   written to `<file>.checkpoint.json`; that object's own creation event starts the next invocation,
 *   which skips the rows already done and carries on.
 * - Expiry: every object dropped under `imports/` but a manifest is tagged IMPORTS.expiryTag when its
 *   event arrives, and the report, rejects and checkpoint are written with it: the lake's
 *   `expire-imports` rule removes them RETENTION.importDays after they were written (`cairn:importDays`;
 *   docs/privacy.md), so a person's rows in a dropped file outlive their erasure by a known time.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { s3 } from '../aws/clients';
import type { CountryCode } from 'libphonenumber-js';
import { STREAMS, IMPORTS } from '../config';
import { prepareMessages, type PreparedMessage } from '../collect';
import { CairnError, isCairnError } from '../errors';
import type { IdentityConfig } from '../identity';
import { log } from '../log';
import type { JsonObject, RawEnvelope } from '../message';
import { partitionKeyFor, putAllRecords, type StreamRecord } from '../message/stream';
import type { Delimiter } from './csv';
import { planColumns, rowToMessage, type FieldTarget, type ImportType, type MappingOptions } from './map';
import { isJsonLines, planHeader, readRows, RejectsEncoder, type ImportFormat, type Row } from './rows';
import { sleep } from '../lang';

/** Data files λ import reads (by extension); anything else under `imports/` is ignored. */
export const DATA_EXTENSIONS = ['.csv', '.tsv', '.txt', '.jsonl', '.ndjson'] as const;
/** Suffixes of the files λ import reads and writes beside a data file `<file>`. */
export const SUFFIX = {
  manifest: '.import.json',
  report: '.report.json',
  rejectsCsv: '.rejects.csv',
  rejectsJsonl: '.rejects.jsonl',
  checkpoint: '.checkpoint.json',
} as const;
/** A manifest for every file of its folder that has none of its own. */
export const FOLDER_MANIFEST = '_import.json';
/** Source id of imported messages when the manifest names none: the local stack's default source. */
export const DEFAULT_IMPORT_SOURCE = 'default';

/**
 * Records per second λ import puts on the raw stream: half its write capacity (1,000 records/s per
 * shard), so live collection keeps the other half. `CAIRN_IMPORT_RATE` overrides it (0: unpaced;
 * read in functions/import/deps.ts).
 */
export const IMPORT_RATE = STREAMS.raw.shards * 500;
/** Time kept in hand before the Lambda timeout: below it, checkpoint and continue in a new invocation. */
export const IMPORT_CHECKPOINT_MARGIN_MS = 90_000;
/** A chain of continuations longer than this is stopped (a report with status `failed`). */
export const MAX_CONTINUATIONS = 100;
/** A `running` report younger than this (the function timeout) means another invocation is at work. */
const RUNNING_LEASE_MS = 15 * 60_000;
const CHUNK = 500;

export interface ImportManifest extends MappingOptions {
  /** CSV delimiter: `,` `;` `tab`; default: detected. */
  delimiter?: Delimiter;
  /** Source id the messages carry (the lake's `source_id`). Default `default`. */
  source: string;
}

export interface ImportReport {
  bucket: string;
  file: string;
  etag: string;
  manifest: string;
  status: 'running' | 'continuing' | 'completed' | 'failed';
  type?: ImportType;
  format: ImportFormat;
  delimiter?: string;
  source?: string;
  /** Data rows read (header and blank lines not counted). */
  rowsRead: number;
  /** Messages put on the raw stream (each row once: identical rows are sent once). */
  accepted: number;
  rejected: number;
  /** Rows identical to an earlier row of the file (same messageId): sent once. */
  duplicates: number;
  /** Key of the rejects file (every row that was not sent, with its line and reason). */
  rejectsFile?: string;
  /** The first rejects (at most 100); all of them are in the rejects file. */
  firstRejects: { line: number; reason: string }[];
  startedAt: string;
  finishedAt?: string;
  durationMs: number;
  rowsPerSecond: number;
  /** Invocations the import took (more than 1 when it continued from a checkpoint). */
  invocations: number;
  /** Set when status is `failed`. */
  error?: { code: string; message: string };
  /** Hash of the manifest's options: a re-drop is skipped only when the file and the options are unchanged. */
  optionsHash: string;
}

interface Checkpoint {
  report: ImportReport;
  /** Every row up to this physical line is done. */
  line: number;
  /** The rejects file so far. */
  rejects: string;
  /** messageIds sent so far (duplicates inside the file are sent once across invocations too). */
  seen: string[];
}

export type ImportKeyKind = 'data' | 'manifest' | 'checkpoint' | 'output' | 'folderManifest' | 'other';

/** What a key under `imports/` is, and the data file it belongs to. */
export function classifyKey(key: string): { kind: ImportKeyKind; file?: string } {
  if (!key.startsWith(IMPORTS.prefix) || key.endsWith('/')) return { kind: 'other' };
  const lower = key.toLowerCase();
  if (lower.endsWith(SUFFIX.report) || lower.endsWith(SUFFIX.rejectsCsv) || lower.endsWith(SUFFIX.rejectsJsonl)) return { kind: 'output' };
  if (lower.endsWith(SUFFIX.checkpoint)) return { kind: 'checkpoint', file: key.slice(0, -SUFFIX.checkpoint.length) };
  if (lower.endsWith(SUFFIX.manifest)) return { kind: 'manifest', file: key.slice(0, -SUFFIX.manifest.length) };
  if (key.slice(key.lastIndexOf('/') + 1) === FOLDER_MANIFEST) return { kind: 'folderManifest' };
  if (DATA_EXTENSIONS.some((x) => lower.endsWith(x))) return { kind: 'data', file: key };
  return { kind: 'other' };
}

/**
 * The objects an invocation is about: an S3 event notification (`Records`, keys URL-encoded as S3
 * sends them) or the EventBridge form of an S3 `Object Created` event (`detail.object.key`).
 */
export function objectsOfEvent(event: unknown): { bucket: string; key: string }[] {
  const e = event as { Records?: unknown[]; source?: string; 'detail-type'?: string; detail?: { bucket?: { name?: string }; object?: { key?: string } } };
  if (Array.isArray(e?.Records)) {
    return e.Records.flatMap((r) => {
      const rec = r as { eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string } } };
      const bucket = rec.s3?.bucket?.name;
      const key = rec.s3?.object?.key;
      if (!bucket || !key || !String(rec.eventName ?? '').startsWith('ObjectCreated')) return [];
      return [{ bucket, key: decodeURIComponent(key.replace(/\+/g, ' ')) }];
    });
  }
  if (e?.source === 'aws.s3' && e['detail-type'] === 'Object Created' && e.detail?.bucket?.name && e.detail.object?.key) {
    return [{ bucket: e.detail.bucket.name, key: e.detail.object.key }];
  }
  return [];
}

const invalid = (msg: string) => new CairnError('invalid_import_manifest', msg, 400);

/**
 * Reads a manifest: `{"type":"identify"|"track", "map":{"Column":"field"} or ["Column=field"],
 * "event":"…", "onlyMapped":bool, "delimiter":","|";"|"tab", "source":"…"}`.
 */
export function parseManifest(text: string, where: string): ImportManifest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalid(`${where} is not JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${where} must be a JSON object`);
  const o = v as Record<string, unknown>;
  const known = new Set(['type', 'map', 'event', 'onlyMapped', 'delimiter', 'source']);
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length) throw invalid(`${where}: unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (fields: ${[...known].join(', ')})`);
  if (o.type !== 'identify' && o.type !== 'track') throw invalid(`${where}: type must be "identify" or "track", got ${JSON.stringify(o.type)}`);
  let map: string[] = [];
  if (Array.isArray(o.map)) {
    if (!o.map.every((x) => typeof x === 'string')) throw invalid(`${where}: map must be {"Column":"field"} or ["Column=field", …]`);
    map = o.map as string[];
  } else if (o.map && typeof o.map === 'object') {
    for (const [col, field] of Object.entries(o.map)) {
      if (typeof field !== 'string') throw invalid(`${where}: map.${col} must be a field name such as "traits.email", got ${JSON.stringify(field)}`);
      map.push(`${col}=${field}`);
    }
  } else if (o.map !== undefined) throw invalid(`${where}: map must be {"Column":"field"} or ["Column=field", …]`);
  if (o.event !== undefined && (typeof o.event !== 'string' || !o.event.trim())) throw invalid(`${where}: event must be a non-empty string`);
  if (o.onlyMapped !== undefined && typeof o.onlyMapped !== 'boolean') throw invalid(`${where}: onlyMapped must be true or false`);
  let delimiter: Delimiter | undefined;
  if (o.delimiter !== undefined) {
    const d = o.delimiter === 'tab' || o.delimiter === '\\t' ? '\t' : o.delimiter;
    if (d !== ',' && d !== ';' && d !== '\t') throw invalid(`${where}: delimiter must be ",", ";" or "tab", got ${JSON.stringify(o.delimiter)}`);
    delimiter = d;
  }
  const source = o.source === undefined ? DEFAULT_IMPORT_SOURCE : o.source;
  if (typeof source !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(source)) {
    throw invalid(`${where}: source must be a source id (letters, digits, _ . : -), got ${JSON.stringify(o.source)}`);
  }
  return {
    type: o.type,
    map,
    ...(o.event !== undefined ? { event: (o.event as string).trim() } : {}),
    ...(o.onlyMapped ? { onlyMapped: true } : {}),
    ...(delimiter ? { delimiter } : {}),
    source,
  };
}

const isMissing = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
};

async function getText(bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body!.transformToString('utf8');
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

async function head(bucket: string, key: string): Promise<{ etag: string; size: number } | undefined> {
  try {
    const out = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { etag: (out.ETag ?? '').replace(/"/g, ''), size: out.ContentLength ?? 0 };
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/** The expiry tag (IMPORTS.expiryTag) as PutObject's `Tagging`: every output expires with the file it reports on. */
const EXPIRY_TAGGING = new URLSearchParams([[IMPORTS.expiryTag.key, IMPORTS.expiryTag.value]]).toString();

const put = (bucket: string, key: string, body: string, contentType: string) =>
  s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, Tagging: EXPIRY_TAGGING }));

/** S3 keeps at most 10 tags per object. */
const MAX_TAGS = 10;

/**
 * Puts the expiry tag on a dropped object (IMPORTS.expiryTag: the lake's `expire-imports` rule then
 * expires it, docs/privacy.md), keeping the tags it has. A key gone meanwhile needs none. An object
 * that already has 10 tags of its own cannot take it: logged, and it stays.
 */
async function tagForExpiry(bucket: string, key: string): Promise<'tagged' | 'already' | 'gone' | 'full'> {
  const { key: k, value: v } = IMPORTS.expiryTag;
  let tags: { Key?: string; Value?: string }[];
  try {
    tags = (await s3().send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? [];
  } catch (e) {
    if (isMissing(e)) return 'gone';
    throw e;
  }
  if (tags.some((t) => t.Key === k && t.Value === v)) return 'already';
  const others = tags.filter((t) => t.Key !== k).map((t) => ({ Key: t.Key!, Value: t.Value ?? '' }));
  if (others.length >= MAX_TAGS) {
    log('warn', 'import.expiry_tag_skipped', { file: key, reason: `the object has ${others.length} tags of its own (S3 allows ${MAX_TAGS})` });
    return 'full';
  }
  try {
    await s3().send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet: [...others, { Key: k, Value: v }] } }));
  } catch (e) {
    if (isMissing(e)) return 'gone';
    throw e;
  }
  return 'tagged';
}

/** The manifest of a data file: `<file>.import.json`, else `_import.json` in its folder. */
async function findManifest(bucket: string, file: string): Promise<{ key: string; text: string } | undefined> {
  const own = `${file}${SUFFIX.manifest}`;
  const text = await getText(bucket, own);
  if (text !== undefined) return { key: own, text };
  const folder = `${file.slice(0, file.lastIndexOf('/') + 1)}${FOLDER_MANIFEST}`;
  const shared = await getText(bucket, folder);
  return shared !== undefined ? { key: folder, text: shared } : undefined;
}

/** What an import needs from its deployment (functions/import/deps.ts reads them from the environment). */
export interface ImportDeps {
  /** The raw stream the rows are put on. */
  rawStream: string;
  /** Records per second on the raw stream (IMPORT_RATE unless CAIRN_IMPORT_RATE); 0 unpaced. */
  rate: number;
  /** Identity settings (identifier columns, block list), read for each file. */
  identityConfig(): IdentityConfig;
  /** Country of phone numbers written without `+`. */
  country: CountryCode;
}

export interface ImportObjectOptions {
  /** Milliseconds left in this invocation (Lambda context); default: no limit. */
  remainingMs?: () => number;
}

export type ImportOutcome =
  | { status: 'ignored' | 'waiting' | 'skipped' | 'busy'; file?: string; reason: string }
  | { status: ImportReport['status']; file: string; report: ImportReport };

const hashOf = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 32);

/** Handles one created object under `imports/`. Never throws for a bad file or manifest: the report says. */
export async function importObject(bucket: string, key: string, deps: ImportDeps, opts: ImportObjectOptions = {}): Promise<ImportOutcome> {
  const { kind, file } = classifyKey(key);
  // Every dropped object but a manifest expires (λ import's own outputs carry the tag from their PUT).
  if ((kind === 'data' || kind === 'other') && key.startsWith(IMPORTS.prefix) && !key.endsWith('/')) await tagForExpiry(bucket, key);
  if (!file || (kind !== 'data' && kind !== 'manifest' && kind !== 'checkpoint')) return { status: 'ignored', reason: `not an import file (${kind})` };
  const reportKey = `${file}${SUFFIX.report}`;
  const checkpointKey = `${file}${SUFFIX.checkpoint}`;
  const object = await head(bucket, file);
  if (!object) return { status: 'waiting', file, reason: 'the data file is not there yet' };

  let checkpoint: Checkpoint | undefined;
  if (kind === 'checkpoint') {
    const text = await getText(bucket, checkpointKey);
    if (!text) return { status: 'ignored', file, reason: 'checkpoint gone' };
    checkpoint = JSON.parse(text) as Checkpoint;
    const current = await getText(bucket, reportKey);
    const r = current ? (JSON.parse(current) as ImportReport) : undefined;
    // Only the latest checkpoint of the current version continues (a duplicate event, a newer drop: no).
    const n = checkpoint.report.invocations;
    const latest = r?.status === 'continuing' && r.invocations === n;
    const retried = r?.status === 'failed' && r.invocations === n + 1; // the continuation failed and Lambda retries it
    if (checkpoint.report.etag !== object.etag || !(latest || retried)) {
      return { status: 'ignored', file, reason: 'stale checkpoint' };
    }
  }

  const manifest = await findManifest(bucket, file);
  if (!manifest) return { status: 'waiting', file, reason: `no manifest yet (${file}${SUFFIX.manifest} or ${FOLDER_MANIFEST} in its folder)` };
  const format: ImportFormat = isJsonLines(file) ? 'jsonl' : 'csv';
  const t0 = Date.now();
  const base: ImportReport = checkpoint?.report ?? {
    bucket,
    file,
    etag: object.etag,
    manifest: manifest.key,
    status: 'running',
    format,
    rowsRead: 0,
    accepted: 0,
    rejected: 0,
    duplicates: 0,
    firstRejects: [],
    startedAt: new Date(t0).toISOString(),
    durationMs: 0,
    rowsPerSecond: 0,
    invocations: 0,
    optionsHash: '',
  };
  const report: ImportReport = { ...base, status: 'running', invocations: base.invocations + 1 };
  delete report.error;
  delete report.finishedAt;
  const priorMs = base.durationMs;
  const finish = async (status: ImportReport['status'], error?: CairnError): Promise<ImportOutcome> => {
    report.status = status;
    report.durationMs = priorMs + (Date.now() - t0);
    report.rowsPerSecond = Math.round(report.rowsRead / Math.max(0.001, report.durationMs / 1000));
    if (status === 'completed' || status === 'failed') report.finishedAt = new Date().toISOString();
    if (error) report.error = { code: error.code, message: error.message };
    await put(bucket, reportKey, JSON.stringify(report, null, 2) + '\n', 'application/json');
    log(status === 'failed' ? 'warn' : 'info', 'import', {
      file,
      status,
      rowsRead: report.rowsRead,
      accepted: report.accepted,
      rejected: report.rejected,
      ...(error ? { code: error.code } : {}),
    });
    return { status, file, report };
  };

  let m: ImportManifest;
  try {
    m = parseManifest(manifest.text, manifest.key);
  } catch (e) {
    if (!isCairnError(e)) throw e;
    return finish('failed', e);
  }
  report.type = m.type;
  report.source = m.source;
  report.optionsHash = hashOf({ manifest: manifest.key, ...m });

  if (!checkpoint) {
    // Re-drop of an imported file, a duplicate event, or a run already at work: nothing to do.
    const prevText = await getText(bucket, reportKey);
    const prev = prevText ? (JSON.parse(prevText) as ImportReport) : undefined;
    if (prev && prev.etag === object.etag && prev.optionsHash === report.optionsHash) {
      if (prev.status === 'completed') return { status: 'skipped', file, reason: 'already imported (same file and manifest)' };
      const age = Date.now() - Date.parse(prev.startedAt) - prev.durationMs;
      if ((prev.status === 'running' || prev.status === 'continuing') && age < RUNNING_LEASE_MS)
        return { status: 'busy', file, reason: 'an import of this file is under way' };
    }
    await put(bucket, reportKey, JSON.stringify(report, null, 2) + '\n', 'application/json');
  } else if (report.invocations > MAX_CONTINUATIONS) {
    return finish('failed', new CairnError('import_too_long', `stopped after ${MAX_CONTINUATIONS} invocations; split the file`, 413));
  }

  const { rate, rawStream: stream, country } = deps;
  const remaining = opts.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const config = deps.identityConfig();
  const resumeAfter = checkpoint?.line ?? 0;
  const seen = new Set<string>(checkpoint?.seen ?? []);
  let rejectsText = checkpoint?.rejects ?? '';
  let encoder: RejectsEncoder | undefined;
  let header: string[] = [];
  let plan: FieldTarget[] = [];
  let delimiter: Delimiter | undefined = m.delimiter;
  let chunk: StreamRecord[] = [];
  let inflight: Promise<void> = Promise.resolve();
  let pacedFrom = Date.now();
  let pacedCount = 0;
  let lastLine = resumeAfter;

  const reject = (row: Row, reason: string) => {
    if (!encoder) return;
    if (!rejectsText) rejectsText = encoder.header();
    rejectsText += encoder.line(row, reason);
    report.rejected++;
    if (report.firstRejects.length < 100) report.firstRejects.push({ line: row.line, reason });
  };
  const flush = async () => {
    await inflight;
    if (!chunk.length) return;
    const records = chunk;
    chunk = [];
    if (rate > 0) {
      // Pace: never more than `rate` records per second on average.
      const due = pacedFrom + (pacedCount / rate) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      pacedCount += records.length;
    }
    inflight = putAllRecords(stream, records, { attempts: 10, backoffMs: 100 }).then(() => {
      report.accepted += records.length;
    });
  };

  try {
    const body = (await s3().send(new GetObjectCommand({ Bucket: bucket, Key: file, IfMatch: `"${object.etag}"` })))
      .Body as unknown as AsyncIterable<Uint8Array>;
    const onHeader = (h: string[], d?: Delimiter) => {
      header = h;
      delimiter = d ?? delimiter;
      plan = planHeader(h, format, delimiter, m, config, { event: '"event" in the manifest', map: '"map": {"Column": "event"}' });
      encoder = new RejectsEncoder(format, delimiter ?? ',', h);
      report.delimiter = format === 'csv' ? (delimiter === '\t' ? 'tab' : delimiter) : undefined;
    };
    pacedFrom = Date.now();
    let receivedAt = new Date();
    for await (const row of readRows(
      body,
      file,
      format,
      m.delimiter,
      () => {},
      onHeader,
      (cols) => plan.push(...planColumns(cols, { ...m, map: [] }, config)),
    )) {
      if (row.line <= resumeAfter) continue;
      report.rowsRead++;
      lastLine = row.line;
      if (row.error || !row.values) reject(row, row.error ?? 'unreadable line');
      else {
        const r = rowToMessage(header, plan, row.values, m, config, country);
        if (!r.ok) reject(row, r.reason);
        else if (seen.has(r.message.messageId as string)) report.duplicates++;
        else {
          seen.add(r.message.messageId as string);
          // The collector's own checks and additions (receivedAt, timestamp), message by message.
          let prepared: PreparedMessage;
          try {
            prepared = prepareMessages(r.message as Record<string, unknown>, m.type, receivedAt)[0]!;
          } catch (e) {
            if (!isCairnError(e)) throw e;
            reject(row, `refused by the collector: ${e.code}: ${e.message}`);
            continue;
          }
          // Files are dropped into the lake by whoever may write there: the operator, a server source.
          const envelope: RawEnvelope = { message: prepared.message as JsonObject, sourceId: m.source, trust: 'server', receivedAt: receivedAt.toISOString() };
          chunk.push({ partitionKey: partitionKeyFor(prepared.partitionKey), data: Buffer.from(JSON.stringify(envelope)) });
          if (chunk.length >= CHUNK) {
            await flush();
            receivedAt = new Date();
            if (remaining() < IMPORT_CHECKPOINT_MARGIN_MS) {
              await inflight;
              // Everything up to lastLine is on the stream or in the rejects: continue in a new invocation.
              const cp: Checkpoint = {
                report: { ...report, status: 'continuing', durationMs: priorMs + (Date.now() - t0) },
                line: lastLine,
                rejects: rejectsText,
                seen: [...seen],
              };
              // The report first: the checkpoint's own event starts the next invocation, which continues only
              // when the report says this run is `continuing`. Written the other way round, that event could be
              // handled before the report was, the checkpoint be ignored as stale, and the import stop there.
              const out = await finish('continuing');
              await put(bucket, checkpointKey, JSON.stringify(cp), 'application/json');
              return out;
            }
          }
        }
      }
    }
    await flush();
    await inflight;
  } catch (e) {
    // A bad header or manifest mapping (usage), a file replaced while reading, or the stream down.
    await inflight.catch(() => undefined);
    const err = isCairnError(e)
      ? e.code === 'usage'
        ? new CairnError('invalid_import_manifest', e.message, 400)
        : e
      : isMissing(e) || (e as { name?: string }).name === 'PreconditionFailed'
        ? new CairnError('import_file_changed', `${file} was replaced or deleted while it was imported; the new version is imported on its own event`, 409)
        : new CairnError('import_failed', (e as Error).message, 500);
    if (err.status >= 500) {
      // Transient (the stream or S3): let Lambda retry the event; the report says where it stopped.
      await finish('failed', err).catch(() => undefined);
      throw err;
    }
    return finish('failed', err);
  }
  if (encoder || rejectsText) {
    if (!rejectsText && encoder) rejectsText = encoder.header();
    report.rejectsFile = `${file}${format === 'csv' ? SUFFIX.rejectsCsv : SUFFIX.rejectsJsonl}`;
    await put(bucket, report.rejectsFile, rejectsText, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
  }
  return finish('completed');
}

/** Every object of an S3 (or EventBridge S3) event, one after the other. */
export async function handleImportEvent(event: unknown, deps: ImportDeps, opts: ImportObjectOptions = {}): Promise<ImportOutcome[]> {
  const out: ImportOutcome[] = [];
  for (const o of objectsOfEvent(event)) {
    const r = await importObject(o.bucket, o.key, deps, opts);
    if (r.status === 'waiting' || r.status === 'skipped' || r.status === 'busy')
      log('info', 'import not run', { file: r.file, status: r.status, reason: r.reason });
    out.push(r);
  }
  return out;
}
