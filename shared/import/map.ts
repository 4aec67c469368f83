/**
 * Row → message: which message field each column fills (`--map` / a manifest's `map`), how cells
 * are typed, timestamps, identity, and the deterministic `messageId` that makes an import
 * idempotent. Pure: shared by `npx cairn import` (cli/import.ts) and λ import (shared/import/s3.ts).
 */
import { createHash } from 'node:crypto';
import { CairnError } from '../errors';
import type { CountryCode } from 'libphonenumber-js';
import { type IdentityConfig, isInvalid, normalizeIdentifier } from '../identity';
import { normalizePhone } from '../normalize';
import { LIMITS } from '../collect';
import { forbiddenSegment, type JsonObject } from '../message';

export type ImportType = 'identify' | 'track';

/** What the mapping needs to know about an import (the CLI's options and λ import's manifest both carry it). */
export interface MappingOptions {
  type: ImportType;
  /** Event name for every row (track), unless a column is mapped to `event`. */
  event?: string;
  /** `Column=path` specs (`--map`). */
  map?: string[];
  /** Import only the mapped columns. */
  onlyMapped?: boolean;
}

/** Errors in the import's options or the file's header: `usage` (exit code 2 in the CLI). */
export const usage = (msg: string) => new CairnError('usage', msg, 400);

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
export function parseTargetPath(path: string, type: ImportType, config: IdentityConfig): FieldTarget {
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
    throw usage(
      `--map target "${p}" is not a field: use traits.<name>, properties.<name>, context.<name>, userId, anonymousId, timestamp, event, messageId or an identifier type (${Object.keys(
        config.types,
      )
        .filter((t) => t !== 'user_id' && t !== 'anonymous_id')
        .join(', ')})`,
    );
  }
  const root = p.slice(0, dot);
  const rest = p.slice(dot + 1).split('.');
  if (rest.some((s) => s === '')) throw usage(`--map target "${p}" has an empty path segment`);
  const forbidden = forbiddenSegment(rest);
  if (forbidden) throw usage(`--map target "${p}": ${forbidden} is not allowed as a path segment`);
  if (root === 'traits') {
    return {
      kind: 'traits',
      path: rest,
      ...(rest.length === 1 && identifierOfTrait(rest[0]!, config) ? { identifier: identifierOfTrait(rest[0]!, config) } : {}),
    };
  }
  if (root === 'properties') {
    if (type !== 'track') throw usage(`--map target "${p}": properties only apply to --type track (use traits.<name> for identify)`);
    return { kind: 'properties', path: rest };
  }
  if (root === 'context') {
    if (rest[0] === 'traits' && rest.length > 1) return parseTargetPath(`traits.${rest.slice(1).join('.')}`, type, config);
    return { kind: 'context', path: rest };
  }
  throw usage(
    `--map target "${p}" is not a field: it must start with traits., properties. or context., or be userId, anonymousId, timestamp, event, messageId or an identifier type`,
  );
}

/** Columns the import never sends: the bookkeeping columns of a rejects file. */
export const BOOKKEEPING = new Set(['_line', '_reason']);

/** Where each column goes. Throws a usage error for an unknown column in `--map` (naming the header). */
export function planColumns(
  header: readonly string[],
  opts: Pick<MappingOptions, 'type' | 'map' | 'onlyMapped'>,
  config: IdentityConfig,
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
const CODE_WORDS = new Set([
  'id',
  'ids',
  'uuid',
  'key',
  'phone',
  'mobile',
  'tel',
  'telephone',
  'fax',
  'zip',
  'zipcode',
  'postal',
  'postcode',
  'plz',
  'code',
  'no',
  'nr',
  'num',
  'number',
  'sku',
  'ean',
  'gtin',
  'upc',
  'isbn',
  'iban',
  'account',
]);

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
    return (
      '{' +
      Object.keys(v)
        .sort()
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => JSON.stringify(k) + ':' + canonical((v as Record<string, unknown>)[k]))
        .join(',') +
      '}'
    );
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
  opts: Pick<MappingOptions, 'type' | 'event'>,
  config: IdentityConfig,
  /** Country of phone numbers written without `+` (CAIRN_DEFAULT_COUNTRY, read by the caller). */
  country: CountryCode,
): RowResult {
  const msg: JsonObject = { type: opts.type };
  if (opts.type === 'track' && opts.event) msg.event = opts.event;
  const traits: JsonObject = {};
  const properties: JsonObject = {};
  const context: JsonObject = {};
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
        if (!ts)
          return {
            ok: false,
            reason: `column "${col}": ${JSON.stringify(v)} is not a date (use ISO-8601, YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or epoch seconds/ms)`,
          };
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
  if (Buffer.byteLength(JSON.stringify(msg)) > LIMITS.messageBytes)
    return { ok: false, reason: `the row makes a message larger than ${LIMITS.messageBytes / 1024} KB` };
  return { ok: true, message: msg };
}
