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
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { CairnError } from '../shared/errors';
import { loadIdentityConfig, type IdentityConfig } from '../shared/identity/config';
import { isInvalid, normalizeIdentifier } from '../shared/identity/identifiers';
import { defaultCountry, normalizePhone } from '../shared/normalize/phone';
import { LIMITS } from '../shared/collect/limits';
import type { JsonObject } from '../shared/message/types';
import { CsvParser, csvLine, DELIMITERS, type Delimiter } from './csv';
import { collectPost, type Answer, type Target } from './http';
import { batchBodies, MAX_BATCH_MESSAGES } from './send';

export type ImportType = 'identify' | 'track';

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

const usage = (msg: string) => new CairnError('usage', msg, 400);

// ---------------------------------------------------------------------------------------------
// Mapping: which message field each column fills.

export type FieldTarget =
  | { kind: 'userId' | 'anonymousId' | 'timestamp' | 'event' | 'messageId' }
  /** `traits.*` (identify) or `context.traits.*` (track); `identifier`: the identifier type it carries. */
  | { kind: 'traits'; path: string[]; identifier?: string }
  | { kind: 'properties'; path: string[] }
  | { kind: 'context'; path: string[] }
  | { kind: 'ignore' };

const TOP = ['userId', 'anonymousId', 'timestamp', 'event', 'messageId'] as const;

/** Identifier type carried by a trait key (`email` → email, `crmId` → crm_id), if any. */
function identifierOfTrait(key: string, config: IdentityConfig): string | undefined {
  for (const [type, c] of Object.entries(config.types)) if (c.traitKeys?.includes(key)) return type;
  return undefined;
}

/** A column named like an identifier trait, in any case (`Email`, `PHONE`, `CRM_ID`): its type and trait key. */
function identifierColumn(col: string, config: IdentityConfig): { type: string; key: string } | undefined {
  const lc = col.trim().toLowerCase();
  for (const [type, c] of Object.entries(config.types)) {
    const key = c.traitKeys?.find((k) => k.toLowerCase() === lc);
    if (key) return { type, key };
  }
  return undefined;
}

/** Parses the right-hand side of `--map Col=path`. */
export function parseTargetPath(path: string, type: ImportType, config: IdentityConfig = loadIdentityConfig()): FieldTarget {
  const p = path.trim();
  if (p === '-' || p === '') return { kind: 'ignore' };
  if ((TOP as readonly string[]).includes(p)) {
    if (p === 'event' && type !== 'track') throw usage(`--map ...=event only applies to --type track`);
    return { kind: p as (typeof TOP)[number] };
  }
  if (p === 'user_id') return { kind: 'userId' };
  if (p === 'anonymous_id') return { kind: 'anonymousId' };
  const dot = p.indexOf('.');
  if (dot < 0) {
    const c = config.types[p];
    if (c) {
      const key = c.traitKeys?.[0];
      if (!key) throw usage(`identifier type "${p}" has no trait key to import it into (see CAIRN_IDENTITY_CONFIG traitKeys)`);
      return { kind: 'traits', path: [key], identifier: p };
    }
    throw usage(`--map target "${p}" is not a field: use traits.<name>, properties.<name>, context.<name>, userId, anonymousId, timestamp, event, messageId or an identifier type (${Object.keys(config.types).filter((t) => t !== 'user_id' && t !== 'anonymous_id').join(', ')})`);
  }
  const root = p.slice(0, dot);
  const rest = p.slice(dot + 1).split('.');
  if (rest.some((s) => s === '')) throw usage(`--map target "${p}" has an empty path segment`);
  if (root === 'traits') {
    return { kind: 'traits', path: rest, ...(rest.length === 1 && identifierOfTrait(rest[0]!, config) ? { identifier: identifierOfTrait(rest[0]!, config) } : {}) };
  }
  if (root === 'properties') {
    if (type !== 'track') throw usage(`--map target "${p}": properties only apply to --type track (use traits.<name> for identify)`);
    return { kind: 'properties', path: rest };
  }
  if (root === 'context') {
    if (rest[0] === 'traits' && rest.length > 1) return parseTargetPath(`traits.${rest.slice(1).join('.')}`, type, config);
    return { kind: 'context', path: rest };
  }
  throw usage(`--map target "${p}" is not a field: it must start with traits., properties. or context., or be userId, anonymousId, timestamp, event, messageId or an identifier type`);
}

/** Columns the import never sends: the bookkeeping columns of a rejects file. */
const BOOKKEEPING = new Set(['_line', '_reason']);

/** Where each column goes. Throws a usage error for an unknown column in `--map` (naming the header). */
export function planColumns(
  header: readonly string[],
  opts: Pick<ImportOptions, 'type' | 'map' | 'onlyMapped'>,
  config: IdentityConfig = loadIdentityConfig(),
  hint = '',
): FieldTarget[] {
  const mapped = new Map<string, FieldTarget>();
  for (const spec of opts.map ?? []) {
    const eq = spec.lastIndexOf('=');
    if (eq <= 0) throw usage(`--map must be Column=field (e.g. Email=traits.email), got ${JSON.stringify(spec)}`);
    const col = spec.slice(0, eq).trim();
    if (!header.includes(col)) {
      const shown = header.length > 30 ? header.slice(0, 30).join(', ') + ', …' : header.join(', ');
      throw usage(`--map: no column "${col}" in the header; the columns are: ${shown}${hint}`);
    }
    mapped.set(col, parseTargetPath(spec.slice(eq + 1), opts.type, config));
  }
  return header.map((col) => {
    const m = mapped.get(col);
    if (m) return m;
    if (opts.onlyMapped || BOOKKEEPING.has(col) || col === '') return { kind: 'ignore' };
    // Columns named like a message field fill it.
    const top = TOP.find((t) => t.toLowerCase() === col.toLowerCase()) ?? (col === 'user_id' ? 'userId' : col === 'anonymous_id' ? 'anonymousId' : undefined);
    if (top && (top !== 'event' || opts.type === 'track')) return { kind: top };
    // Identifier traits (email, phone, crm_id…) stay identifiers for track too (in context.traits).
    const id = identifierColumn(col, config);
    if (id) return { kind: 'traits', path: [id.key], identifier: id.type };
    return opts.type === 'identify' ? { kind: 'traits', path: [col] } : { kind: 'properties', path: [col] };
  });
}

// ---------------------------------------------------------------------------------------------
// Values.

/** Names whose numbers are really codes (ids, phone numbers, postal codes…): kept as strings. */
const CODE_WORDS = new Set(['id', 'ids', 'uuid', 'key', 'phone', 'mobile', 'tel', 'telephone', 'fax', 'zip', 'zipcode', 'postal', 'postcode', 'plz', 'code', 'no', 'nr', 'num', 'number', 'sku', 'ean', 'gtin', 'upc', 'isbn', 'iban', 'account']);

/** True when a column/field name says its values are codes, not quantities (`order_id`, `CustomerNo`, `zip`). */
export function isCodeName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const last = words[words.length - 1];
  return last !== undefined && CODE_WORDS.has(last);
}

const PLAIN_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/** A cell as a JSON value: a plain decimal number becomes a number unless the field holds codes. */
export function typedValue(cell: string, name: string): string | number {
  if (PLAIN_NUMBER.test(cell) && !isCodeName(name)) {
    const n = Number(cell);
    if (Number.isFinite(n) && (cell.includes('.') || Number.isSafeInteger(n))) return n;
  }
  return cell;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * A timestamp cell as ISO-8601 UTC, or undefined when it does not parse. Accepted: ISO-8601 with or
 * without a zone (no zone: UTC), `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fff]]`, epoch seconds (9–10
 * digits, optional fraction) and epoch milliseconds (12–13 digits).
 */
export function parseTimestamp(v: unknown): string | undefined {
  if (typeof v === 'number') return epoch(String(v));
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  let m = DATE_ONLY.exec(s);
  if (m) return fromParts(+m[1]!, +m[2]!, +m[3]!, 0, 0, 0, 0, 0);
  m = DATE_TIME.exec(s);
  if (m) {
    const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000 + 1e-6) : 0;
    let offsetMin = 0;
    const z = m[8];
    if (z && z !== 'Z' && z !== 'z') {
      const digits = z.slice(1).replace(':', '');
      const hh = Number(digits.slice(0, 2));
      const mm = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
      if (hh > 23 || mm > 59) return undefined;
      offsetMin = (z[0] === '-' ? -1 : 1) * (hh * 60 + mm);
    }
    return fromParts(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0, ms, offsetMin);
  }
  return epoch(s);
}

function epoch(s: string): string | undefined {
  let ms: number;
  if (/^\d{9,10}(\.\d+)?$/.test(s)) ms = Math.round(Number(s) * 1000);
  else if (/^\d{12,13}$/.test(s)) ms = Number(s);
  else return undefined;
  return new Date(ms).toISOString();
}

function fromParts(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, offsetMin: number): string | undefined {
  if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return undefined;
  const t = Date.UTC(y, mo - 1, d, h, mi, Math.min(s, 59), ms);
  if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return undefined; // 2024-02-30
  return new Date(t - offsetMin * 60_000).toISOString();
}

function setPath(obj: JsonObject, path: readonly string[], value: unknown): void {
  let o = obj as Record<string, unknown>;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = o[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1]!] = value;
}

/** JSON with object keys sorted, so equal content hashes equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => JSON.stringify(k) + ':' + canonical((v as Record<string, unknown>)[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Deterministic `anonymousId` for rows identified only by traits: `import:<sha256(type:value)>` (32 hex digits). */
export const importAnonymousId = (type: string, value: string) => `import:${sha256(`${type}:${value}`).slice(0, 32)}`;

/** Deterministic `messageId` of a message built from a row: the same content gives the same id. */
export const importMessageId = (message: JsonObject) => `import-${sha256(canonical(message)).slice(0, 32)}`;

export const IMPORT_LIBRARY = { name: 'cairn-import', version: '1' } as const;

export type RowResult = { ok: true; message: JsonObject } | { ok: false; reason: string };

/**
 * Builds the message for one row. `values[i]` is the cell of `header[i]` (CSV: strings; JSON Lines:
 * any JSON value, undefined when absent). Blank cells are omitted.
 */
export function rowToMessage(
  header: readonly string[],
  plan: readonly FieldTarget[],
  values: readonly unknown[],
  opts: Pick<ImportOptions, 'type' | 'event'>,
  config: IdentityConfig = loadIdentityConfig(),
): RowResult {
  const msg: JsonObject = { type: opts.type };
  if (opts.type === 'track' && opts.event) msg.event = opts.event;
  const traits: JsonObject = {};
  const properties: JsonObject = {};
  const context: JsonObject = {};
  const country = defaultCountry();
  for (let i = 0; i < header.length; i++) {
    const t = plan[i]!;
    if (t.kind === 'ignore') continue;
    let v = values[i];
    if (typeof v === 'string') v = v.trim();
    if (v === undefined || v === null || v === '') continue;
    const col = header[i]!;
    const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    switch (t.kind) {
      case 'userId':
      case 'anonymousId':
      case 'messageId':
      case 'event':
        if (text === undefined) return { ok: false, reason: `column "${col}": ${t.kind} must be a string` };
        msg[t.kind] = text;
        break;
      case 'timestamp': {
        const ts = parseTimestamp(v);
        if (!ts) return { ok: false, reason: `column "${col}": ${JSON.stringify(v)} is not a date (use ISO-8601, YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or epoch seconds/ms)` };
        msg.timestamp = ts;
        break;
      }
      case 'traits': {
        if (t.identifier) {
          if (text === undefined) return { ok: false, reason: `column "${col}": ${t.identifier} must be a string` };
          const raw = t.identifier === 'phone' ? normalizePhone(text, country) : text;
          const n = normalizeIdentifier(t.identifier, raw, config, col);
          if (isInvalid(n)) return { ok: false, reason: `column "${col}": ${JSON.stringify(text)} ${n.reason.slice(col.length + 2)}` };
          if (config.blockList.includes(`${n.type}:${n.value.toLowerCase()}`) || config.blockList.includes(`*:${n.value.toLowerCase()}`)) {
            return { ok: false, reason: `column "${col}": ${JSON.stringify(text)} is a placeholder value that is never used as an identifier (block list)` };
          }
          setPath(traits, t.path, n.value);
        } else setPath(traits, t.path, typeof v === 'string' ? typedValue(v, t.path[t.path.length - 1]!) : v);
        break;
      }
      case 'properties':
        setPath(properties, t.path, typeof v === 'string' ? typedValue(v, t.path[t.path.length - 1]!) : v);
        break;
      case 'context':
        setPath(context, t.path, typeof v === 'string' ? typedValue(v, t.path[t.path.length - 1]!) : v);
        break;
    }
  }
  if (opts.type === 'track' && (typeof msg.event !== 'string' || msg.event === '')) return { ok: false, reason: 'no event name (the event column is blank)' };
  // Identity: userId, anonymousId, or an identifier trait (then a deterministic anonymousId).
  if (msg.userId === undefined && msg.anonymousId === undefined) {
    const types = Object.entries(config.types).sort((a, b) => a[1].priority - b[1].priority);
    let anchor: string | undefined;
    for (const [type, c] of types) {
      for (const k of c.traitKeys ?? []) {
        const val = traits[k];
        if (typeof val === 'string' && val) {
          anchor = importAnonymousId(type, val);
          break;
        }
      }
      if (anchor) break;
    }
    if (!anchor) {
      const idCols = header.filter((_, i) => {
        const t = plan[i]!;
        return t.kind === 'userId' || t.kind === 'anonymousId' || (t.kind === 'traits' && t.identifier);
      });
      return {
        ok: false,
        reason: idCols.length
          ? `no identifier: ${idCols.map((c) => `"${c}"`).join(', ')} ${idCols.length > 1 ? 'are all' : 'is'} blank`
          : 'no identifier: map a column to userId, anonymousId, traits.email, traits.phone or an identifier type such as crm_id',
      };
    }
    msg.anonymousId = anchor;
  }
  if (Object.keys(traits).length) {
    if (opts.type === 'identify') msg.traits = traits;
    else context.traits = traits;
  }
  if (opts.type === 'track') msg.properties = properties;
  context.library = { ...IMPORT_LIBRARY };
  msg.context = context;
  if (msg.messageId === undefined) msg.messageId = importMessageId(msg);
  if (Buffer.byteLength(JSON.stringify(msg)) > LIMITS.messageBytes) return { ok: false, reason: `the row makes a message larger than ${LIMITS.messageBytes / 1024} KB` };
  return { ok: true, message: msg };
}

// ---------------------------------------------------------------------------------------------
// Reading.

interface Row {
  line: number;
  /** CSV fields or the parsed JSON object; undefined when the line could not be read at all. */
  values?: unknown[];
  /** What to write to the rejects file: CSV fields, or the JSON Lines object/raw line. */
  original: string[] | JsonObject | string;
  error?: string;
}

export const isJsonLines = (file: string) => ['.jsonl', '.ndjson'].includes(extname(file).toLowerCase());

/** The file's rows after the header, in order; `onHeader` is called once with the columns. */
async function* readRows(
  path: string,
  format: 'csv' | 'jsonl',
  delimiter: Delimiter | undefined,
  onBytes: (n: number) => void,
  onHeader: (header: string[], delimiter?: Delimiter) => void,
  onNewColumns: (columns: string[]) => void = () => {},
): AsyncGenerator<Row> {
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  const decoder = new StringDecoder('utf8');
  if (format === 'csv') {
    const parser = new CsvParser(delimiter);
    let header: string[] | undefined;
    const handle = function* (records: ReturnType<CsvParser['push']>): Generator<Row> {
      for (const r of records) {
        if (!header) {
          if (r.error) throw usage(`line ${r.line}: the header is malformed (${r.error})`);
          header = r.fields.map((f) => f.trim());
          onHeader(header, parser.delimiter);
          continue;
        }
        // A structurally broken line goes to the rejects as its raw text in the first column, so it
        // stays visibly broken (and is rejected again) until the user fixes it.
        const asRaw = () => header!.map((_, i) => (i === 0 ? r.raw : ''));
        if (r.error) yield { line: r.line, original: asRaw(), error: r.error };
        else if (r.fields.length !== header.length) {
          const hint = r.fields.length === 1 && header.length > 1 ? ' (a broken line, or another delimiter?)' : '';
          yield { line: r.line, original: asRaw(), error: `expected ${header.length} fields, found ${r.fields.length}${hint}` };
        } else yield { line: r.line, values: r.fields, original: r.fields };
      }
    };
    for await (const chunk of stream) {
      onBytes((chunk as Buffer).length);
      yield* handle(parser.push(decoder.write(chunk as Buffer)));
    }
    yield* handle(parser.push(decoder.end()));
    yield* handle(parser.end());
    if (!header) throw usage(`${basename(path)} is empty (expected a header line)`);
    return;
  }
  // JSON Lines: the columns are the keys of the first 100 objects (in order of appearance); keys
  // first seen later are added as they come.
  let header: string[] | undefined;
  const keys = new Set<string>();
  const buffered: { line: number; text: string }[] = [];
  let line = 0;
  let rest = '';
  const toRow = (l: number, text: string): Row => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return { line: l, original: text, error: `invalid JSON (${(e as Error).message})` };
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { line: l, original: text, error: 'expected a JSON object' };
    const o = v as JsonObject;
    const extra = Object.keys(o).filter((k) => !keys.has(k));
    if (extra.length) {
      // A key first seen after the first 100 lines: a new column, mapped by the defaults.
      for (const k of extra) keys.add(k);
      header!.push(...extra);
      onNewColumns(extra);
    }
    return { line: l, values: header!.map((k) => o[k]), original: o };
  };
  const lines = function* (text: string, final: boolean): Generator<{ line: number; text: string }> {
    const all = (rest + text).split('\n');
    rest = final ? '' : all.pop()!;
    for (let s of all) {
      line++;
      if (line === 1 && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      if (s.endsWith('\r')) s = s.slice(0, -1);
      if (s.trim()) yield { line, text: s };
    }
  };
  const feed = function* (text: string, final: boolean): Generator<Row> {
    for (const l of lines(text, final)) {
      if (!header) {
        buffered.push(l);
        try {
          const o = JSON.parse(l.text) as unknown;
          if (o && typeof o === 'object' && !Array.isArray(o)) for (const k of Object.keys(o)) keys.add(k);
        } catch { /* reported when the line is processed */ }
        if (buffered.length < 100) continue;
        header = [...keys];
        onHeader(header);
        for (const b of buffered.splice(0)) yield toRow(b.line, b.text);
        continue;
      }
      yield toRow(l.line, l.text);
    }
    if (final && !header) {
      header = [...keys];
      if (!buffered.length) throw usage(`${basename(path)} is empty (expected one JSON object per line)`);
      onHeader(header);
      for (const b of buffered.splice(0)) yield toRow(b.line, b.text);
    }
  };
  for await (const chunk of stream) {
    onBytes((chunk as Buffer).length);
    yield* feed(decoder.write(chunk as Buffer), false);
  }
  yield* feed(decoder.end(), true);
}

// ---------------------------------------------------------------------------------------------
// Rejects.

class RejectsWriter {
  private out: WriteStream | undefined;
  count = 0;
  constructor(
    readonly path: string,
    private readonly format: 'csv' | 'jsonl',
    private readonly delimiter: string,
    /** The input's header: its columns are written back, without an earlier import's `_line`/`_reason`. */
    private readonly fileHeader: readonly string[],
  ) {}
  write(row: Row, reason: string) {
    if (!this.out) {
      this.out = createWriteStream(this.path);
      if (this.format === 'csv') this.out.write(csvLine([...this.fileHeader.filter((c) => !BOOKKEEPING.has(c)), '_line', '_reason'], this.delimiter));
    }
    this.count++;
    if (this.format === 'csv') {
      const o = row.original as string[];
      // Drop an earlier import's bookkeeping columns, keep everything else (extra fields included).
      const kept = o.filter((_, i) => i >= this.fileHeader.length || !BOOKKEEPING.has(this.fileHeader[i]!));
      this.out.write(csvLine([...kept, String(row.line), reason], this.delimiter));
    } else {
      const o = row.original;
      const obj = typeof o === 'string' ? { _raw: o } : Array.isArray(o) ? { _raw: o.join(',') } : { ...o };
      delete (obj as JsonObject)._line;
      delete (obj as JsonObject)._reason;
      this.out.write(JSON.stringify({ ...obj, _line: row.line, _reason: reason }) + '\n');
    }
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
      this.write(`\r\x1b[K[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${pct.toFixed(0).padStart(3)}%  ${fmt(rows)} rows  ${fmt(accepted)} sent  ${fmt(rate)} rows/s`);
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Posts one body, retrying 429 (Retry-After) and transient failures; throws on an unreachable stack. */
async function post(target: Target, body: string): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    let a: Answer;
    try {
      a = await collectPost(target, '/v1/batch', body);
    } catch (e) {
      if (attempt >= 4) throw e;
      await sleep(250 * 2 ** attempt);
      continue;
    }
    if ((a.status === 429 || a.status >= 500) && attempt < 6) {
      const after = Number(a.headers.get('retry-after'));
      await sleep(a.status === 429 && Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : 250 * 2 ** attempt);
      continue;
    }
    return a;
  }
}

const errorText = (a: Answer) => {
  const e = (a.json as { error?: { code?: string; message?: string } } | undefined)?.error;
  return e?.message ? `${e.code ?? a.status}: ${e.message}` : `HTTP ${a.status}`;
};

/** Fatal answers stop the import (credentials, stack errors); 400/413 are the rows' fault. */
function fatal(a: Answer): CairnError | undefined {
  if (a.status === 401 || a.status === 403) return new CairnError('unauthorized', `${a.status}: the collector refused the write key (check --write-key / CAIRN_WRITE_KEY)`, a.status);
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
  const config = loadIdentityConfig();
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
    if (format === 'csv') {
      const dup = h.find((c, i) => c !== '' && h.indexOf(c) !== i);
      if (dup !== undefined) throw usage(`the header names column "${dup}" twice`);
    }
    let hint = '';
    if (format === 'csv' && h.length === 1) {
      const other = DELIMITERS.find((x) => x !== delimiter && h[0]!.includes(x));
      if (other) hint = ` (one column only: is the delimiter ${other === '\t' ? 'tab' : JSON.stringify(other)}? pass --delimiter ${other === '\t' ? 'tab' : JSON.stringify(other)} or leave it out to detect it)`;
    }
    plan = planColumns(h, opts, config, hint);
    if (opts.type === 'track' && !opts.event && !plan.some((p) => p.kind === 'event')) {
      throw usage('--type track needs --event "<name>" or a column mapped to event (--map Column=event)');
    }
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
    for await (const row of readRows(path, format, opts.delimiter, (n) => (bytes += n), onHeader, (cols) => plan.push(...planColumns(cols, { ...opts, map: [] }, config)))) {
      rowsRead++;
      if (row.error || !row.values) reject(row, row.error ?? 'unreadable line');
      else {
        const r = rowToMessage(header, plan, row.values, opts, config);
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
