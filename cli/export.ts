/**
 * `npx cairn export segment <id>`: a segment's current members, with their identifiers and chosen
 * traits, as CSV or JSON Lines, to stdout, a file or S3 — for a CRM or an ad platform
 * (docs/cli.md, docs/segments.md).
 *
 * Pages through `GET /v1/segments/{id}/members` (1,000 a page) and reads each member's profile
 * (`GET /v1/profiles/profile_id:<id>`, a few at a time, order kept). With `--consent <channel>`
 * only members who granted that channel are written; the others are counted (journeys and exports
 * honour consent: no consent, no action, counted). A member erased or merged away between the page
 * and the read is counted as missing.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { CairnError } from '#shared/errors';
import { csvField } from './format';
import { adminGet, answerError, type Target } from './http';
import { pathParam } from '#shared/http';
import { emulatorConfig } from '#shared/aws/emulators';

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const DEFAULT_FIELDS = ['profile_id', 'user_id', 'email', 'phone'] as const;

/** A column: the profile id, an identifier type, or a `traits.`/`computed.`/`consent.` path. */
export type Field =
  | { name: string; kind: 'profile_id' }
  | { name: string; kind: 'identifier'; type: string }
  | { name: string; kind: 'traits' | 'computed'; path: string[] }
  | { name: string; kind: 'consent'; channel: string }
  | { name: string; kind: 'segments' };

const usage = (msg: string) => new CairnError('usage', msg, 400);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Parses `--fields a,b,traits.x` (repeatable, comma-separated). */
export function parseFields(specs: string[]): Field[] {
  const names = specs
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const list = names.length ? names : [...DEFAULT_FIELDS];
  const seen = new Set<string>();
  return list.map((name): Field => {
    if (seen.has(name)) throw usage(`--fields lists ${name} twice`);
    seen.add(name);
    if (name === 'profile_id') return { name, kind: 'profile_id' };
    if (name === 'segments') return { name, kind: 'segments' };
    const dot = name.indexOf('.');
    if (dot < 0) {
      if (!NAME_RE.test(name)) throw usage(`--fields: ${JSON.stringify(name)} is not an identifier type or a traits./computed./consent. path`);
      return { name, kind: 'identifier', type: name };
    }
    const root = name.slice(0, dot);
    const path = name.slice(dot + 1).split('.');
    if (path.some((p) => !p)) throw usage(`--fields: ${JSON.stringify(name)} has an empty path segment`);
    if (root === 'traits' || root === 'computed') return { name, kind: root, path };
    if (root === 'consent' && path.length === 1) return { name, kind: 'consent', channel: path[0]! };
    throw usage(`--fields: ${JSON.stringify(name)}: a path starts with traits., computed. or consent.<channel>`);
  });
}

/** The profile shape of the admin API (docs/api.md#admin-api), as far as the export reads it. */
export interface ApiProfile {
  profileId: string;
  identities: { type: string; value: string }[];
  traits: Record<string, unknown>;
  computed: Record<string, unknown>;
  consent: Record<string, { granted: boolean }>;
  segments: string[];
}

export type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

function at(obj: unknown, path: string[]): Value {
  let v: unknown = obj;
  for (const p of path) {
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, p)) return null;
    v = (v as Record<string, unknown>)[p];
  }
  return v === undefined ? null : (v as Value);
}

/** The values of one member, field by field (identifiers: one string, or an array when several). */
export function rowValues(p: ApiProfile, fields: Field[]): Value[] {
  return fields.map((f) => {
    switch (f.kind) {
      case 'profile_id':
        return p.profileId;
      case 'identifier': {
        const vs = p.identities.filter((i) => i.type === f.type).map((i) => i.value);
        return vs.length === 0 ? null : vs.length === 1 ? vs[0]! : vs;
      }
      case 'traits':
        return at(p.traits, f.path);
      case 'computed':
        return at(p.computed, f.path);
      case 'consent': {
        const c = p.consent?.[f.channel];
        return c ? c.granted === true : null;
      }
      case 'segments':
        return p.segments ?? [];
      default:
        return f satisfies never;
    }
  });
}

/** A CSV cell: empty for null, several identifiers joined with `;`, objects as JSON; quoted per RFC 4180. */
export function csvCell(v: Value): string {
  if (v === null) return '';
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return csvField(v.map((x) => (x === null ? '' : String(x))).join(';'));
  if (typeof v === 'object') return csvField(JSON.stringify(v));
  return csvField(String(v));
}

export const csvHeader = (fields: Field[]): string => fields.map((f) => csvField(f.name)).join(',') + '\r\n';
export function formatRow(p: ApiProfile, fields: Field[], format: ExportFormat): string {
  const values = rowValues(p, fields);
  if (format === 'csv') return values.map(csvCell).join(',') + '\r\n';
  return JSON.stringify(Object.fromEntries(fields.map((f, i) => [f.name, values[i]]))) + '\n';
}

/** `s3://bucket/key` → parts. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!m) throw usage(`--s3 must be s3://<bucket>/<key>, got ${JSON.stringify(url)}`);
  return { bucket: m[1]!, key: m[2]! };
}

export interface ExportOptions {
  segment: string;
  format: ExportFormat;
  fields: Field[];
  /** Only members who granted this channel. */
  consent?: string;
  /** Members per page (1–1000). */
  pageSize?: number;
  /** Profile reads in flight. */
  concurrency?: number;
}

export interface ExportSummary {
  segment: string;
  /** Members listed by the segment. */
  members: number;
  /** Rows written. */
  exported: number;
  /** Left out for want of consent on `consent`. */
  excludedNoConsent: number;
  consent: string | null;
  /** Members whose profile was gone when read (erased or merged meanwhile). */
  missing: number;
  destination: string;
}

async function pmap<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) {
        const k = i++;
        out[k] = await f(items[k]!);
      }
    }),
  );
  return out;
}

/**
 * Streams the export to `write` (header first for CSV); returns the counts. Fails with
 * `segment_not_found` when the segment is not defined.
 */
export async function exportSegment(t: Target, o: ExportOptions, write: (chunk: string) => Promise<void> | void): Promise<Omit<ExportSummary, 'destination'>> {
  const seg = await adminGet(t, `/v1/segments/${encodeURIComponent(o.segment)}`);
  if (seg.status === 404) throw new CairnError('segment_not_found', `no segment ${JSON.stringify(o.segment)}`, 404);
  if (seg.status !== 200) throw answerError(seg, 'segment request failed');
  const s: Omit<ExportSummary, 'destination'> = { segment: o.segment, members: 0, exported: 0, excludedNoConsent: 0, consent: o.consent ?? null, missing: 0 };
  if (o.format === 'csv') await write(csvHeader(o.fields));
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: String(o.pageSize ?? 1000), ...(cursor ? { cursor } : {}) });
    const page = await adminGet(t, `/v1/segments/${encodeURIComponent(o.segment)}/members?${q}`);
    if (page.status !== 200) throw answerError(page, 'members request failed');
    const body = page.json as { members: { profileId: string }[]; next: string | null };
    s.members += body.members.length;
    const profiles = await pmap(body.members, o.concurrency ?? 8, async (m) => {
      const a = await adminGet(t, `/v1/profiles/${pathParam(`profile_id:${m.profileId}`)}`);
      if (a.status === 404) return null;
      if (a.status !== 200) throw answerError(a, 'profile request failed');
      return a.json as ApiProfile;
    });
    let chunk = '';
    for (const p of profiles) {
      if (!p) {
        s.missing++;
        continue;
      }
      if (o.consent && p.consent?.[o.consent]?.granted !== true) {
        s.excludedNoConsent++;
        continue;
      }
      chunk += formatRow(p, o.fields, o.format);
      s.exported++;
    }
    if (chunk) await write(chunk);
    cursor = body.next;
  } while (cursor);
  return s;
}

/** Where the rows go: stdout, a file, or an S3 object (buffered, one PutObject). */
export interface Sink {
  destination: string;
  write(chunk: string): Promise<void> | void;
  close(): Promise<void>;
}

export function fileSink(path: string, cwd: string): Sink {
  const full = resolve(cwd, path);
  let stream: WriteStream | undefined;
  let failed: Error | undefined;
  const open = () => {
    if (!stream) {
      stream = createWriteStream(full, { encoding: 'utf8' });
      stream.on('error', (e) => (failed = e));
    }
    return stream;
  };
  return {
    destination: full,
    write: (chunk) =>
      new Promise<void>((ok, fail) => {
        if (failed) return fail(new CairnError('export_write_failed', `cannot write ${path}: ${failed.message}`, 500));
        open().write(chunk, (e) => (e ? fail(new CairnError('export_write_failed', `cannot write ${path}: ${e.message}`, 500)) : ok()));
      }),
    close: () =>
      new Promise<void>((ok, fail) => {
        open().end(() => (failed ? fail(new CairnError('export_write_failed', `cannot write ${path}: ${failed.message}`, 500)) : ok()));
      }),
  };
}

/** The S3 client for a target: the local stack's s3rver (from /_aws/endpoints), or AWS with the environment's credentials. */
export async function s3For(t: Target): Promise<S3Client> {
  if (t.kind === 'stack') return new S3Client({ ...(t.aws?.region ? { region: t.aws.region } : {}) });
  const a = await adminGet(t, '/_aws/endpoints');
  const endpoint = (a.json as { s3?: string } | undefined)?.s3;
  if (a.status !== 200 || !endpoint) throw answerError(a, 'the local stack did not name its S3 endpoint');
  return new S3Client(emulatorConfig('s3', endpoint));
}

export function s3Sink(client: S3Client, url: string, format: ExportFormat): Sink {
  const { bucket, key } = parseS3Url(url);
  const parts: string[] = [];
  return {
    destination: url,
    write: (chunk) => void parts.push(chunk),
    async close() {
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: parts.join(''),
            ContentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
          }),
        );
      } catch (e) {
        throw new CairnError('export_write_failed', `cannot write ${url}: ${(e as Error).name}: ${(e as Error).message.split('\n')[0]}`, 500);
      }
    },
  };
}

export function renderExportSummary(s: ExportSummary): string {
  const extra = [s.consent ? `${s.excludedNoConsent} excluded without ${s.consent} consent` : '', s.missing ? `${s.missing} gone since listed` : ''].filter(
    Boolean,
  );
  return `exported ${s.exported} of ${s.members} member(s) of ${s.segment} to ${s.destination}${extra.length ? ` (${extra.join(', ')})` : ''}\n`;
}

export interface ExportDeps {
  target(cmd: Command): Promise<Target>;
  stdout(s: string): void;
  stderr(s: string): void;
  cwd: string;
}

/** Adds `export segment <id>` to the program. */
export function registerExportCommand(program: Command, deps: ExportDeps): Command {
  const exp = program.command('export').description('export data for other tools (CRM, ad platforms)');
  exp
    .command('segment')
    .description("export a segment's current members (identifiers and chosen traits) as CSV or JSON Lines")
    .argument('<id>', 'segment id')
    .option('--format <format>', `output format: ${EXPORT_FORMATS.join(', ')}`, 'csv')
    .option('--out <file>', 'write to this file (default: stdout)')
    .option('--s3 <url>', 'write to s3://bucket/key (local stack: its S3 emulator; --stack: AWS)')
    .option('--consent <channel>', 'only members who granted consent on this channel (e.g. ads, email); the others are counted. Required, or --no-consent')
    .option('--no-consent', 'export every member whatever their consent (a non-marketing use, e.g. service messages or an audit)')
    .option(
      '--fields <list>',
      `columns, comma-separated, repeatable: profile_id, identifier types (email, phone, user_id, crm_id, …), traits.<path>, computed.<id>, consent.<channel>, segments (default: ${DEFAULT_FIELDS.join(',')})`,
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--summary <format>', 'summary on stderr: text, json', 'text')
    .action(
      async (id: string, o: { format: string; out?: string; s3?: string; consent?: string | boolean; fields: string[]; summary: string }, cmd: Command) => {
        // Consent filtering is on unless turned off by name: an audience exported for marketing must not
        // carry the people who said no because someone forgot a flag.
        if (o.consent === undefined || o.consent === true)
          throw usage(
            'name the consent channel this audience is for (--consent email, --consent ads, …), or pass --no-consent for a use that needs no consent',
          );
        if (!(EXPORT_FORMATS as readonly string[]).includes(o.format))
          throw usage(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`);
        if (o.summary !== 'text' && o.summary !== 'json') throw usage(`--summary must be text or json, got ${JSON.stringify(o.summary)}`);
        if (o.out && o.s3) throw usage('give --out or --s3, not both');
        if (typeof o.consent === 'string' && !NAME_RE.test(o.consent))
          throw usage(`--consent must be a channel name (e.g. ads, email), got ${JSON.stringify(o.consent)}`);
        if (o.s3) parseS3Url(o.s3);
        const fields = parseFields(o.fields);
        const format = o.format as ExportFormat;
        const t = await deps.target(cmd);
        const sink: Sink = o.s3
          ? s3Sink(await s3For(t), o.s3, format)
          : o.out
            ? fileSink(o.out, deps.cwd)
            : { destination: 'stdout', write: (c) => deps.stdout(c), close: async () => {} };
        const counts = await exportSegment(t, { segment: id, format, fields, ...(typeof o.consent === 'string' ? { consent: o.consent } : {}) }, (c) =>
          sink.write(c),
        );
        await sink.close();
        const summary: ExportSummary = { ...counts, destination: sink.destination };
        deps.stderr(o.summary === 'json' ? JSON.stringify(summary) + '\n' : renderExportSummary(summary));
      },
    );
  return exp;
}
