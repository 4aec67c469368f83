/**
 * Reading an import: CSV or JSON Lines from any byte stream (a local file for the CLI, an S3 object
 * body for λ import), row by row with physical line numbers; the header checks and column plan;
 * and the rejects file's lines. Shared by cli/import.ts and shared/import/s3.ts.
 */
import { basename, extname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { IdentityConfig } from '../identity';
import type { JsonObject } from '../message';
import { CsvParser, csvLine, DELIMITERS, type Delimiter } from './csv';
import { BOOKKEEPING, planColumns, usage, type FieldTarget, type MappingOptions } from './map';

export type ImportFormat = 'csv' | 'jsonl';

export interface Row {
  line: number;
  /** CSV fields or the parsed JSON object; undefined when the line could not be read at all. */
  values?: unknown[];
  /** What to write to the rejects file: CSV fields, or the JSON Lines object/raw line. */
  original: string[] | JsonObject | string;
  error?: string;
}

export const isJsonLines = (file: string) => ['.jsonl', '.ndjson'].includes(extname(file).toLowerCase());

/**
 * The rows of a CSV or JSON Lines byte stream after the header, in order; `onHeader` is called once
 * with the columns. `name` (a file name or S3 key) appears in errors.
 */
export async function* readRows(
  stream: AsyncIterable<Uint8Array | string>,
  name: string,
  format: 'csv' | 'jsonl',
  delimiter: Delimiter | undefined,
  onBytes: (n: number) => void,
  onHeader: (header: string[], delimiter?: Delimiter) => void,
  onNewColumns: (columns: string[]) => void = () => {},
): AsyncGenerator<Row> {
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
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      onBytes(buf.length);
      yield* handle(parser.push(decoder.write(buf)));
    }
    yield* handle(parser.push(decoder.end()));
    yield* handle(parser.end());
    if (!header) throw usage(`${basename(name)} is empty (expected a header line)`);
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
        } catch {
          /* reported when the line is processed */
        }
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
      if (!buffered.length) throw usage(`${basename(name)} is empty (expected one JSON object per line)`);
      onHeader(header);
      for (const b of buffered.splice(0)) yield toRow(b.line, b.text);
    }
  };
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    onBytes(buf.length);
    yield* feed(decoder.write(buf), false);
  }
  yield* feed(decoder.end(), true);
}
/**
 * Checks a file's header against the options and plans its columns: a column named twice, a
 * one-column CSV that looks like another delimiter (hint), `--map` of an unknown column, and a
 * track import with no event name. Throws `usage`.
 */
export function planHeader(
  header: readonly string[],
  format: ImportFormat,
  delimiter: Delimiter | undefined,
  opts: MappingOptions,
  config: IdentityConfig,
  /** How the options are named in errors: `--map`/`--event` (CLI) or the manifest's fields. */
  names: { event: string; map: string } = { event: '--event "<name>"', map: '--map Column=event' },
): FieldTarget[] {
  if (format === 'csv') {
    const dup = header.find((c, i) => c !== '' && header.indexOf(c) !== i);
    if (dup !== undefined) throw usage(`the header names column "${dup}" twice`);
  }
  let hint = '';
  if (format === 'csv' && header.length === 1) {
    const other = DELIMITERS.find((x) => x !== delimiter && header[0]!.includes(x));
    if (other)
      hint = ` (one column only: is the delimiter ${other === '\t' ? 'tab' : JSON.stringify(other)}? pass --delimiter ${other === '\t' ? 'tab' : JSON.stringify(other)} or leave it out to detect it)`;
  }
  const plan = planColumns(header, opts, config, hint);
  if (opts.type === 'track' && !opts.event && !plan.some((p) => p.kind === 'event')) {
    throw usage(`--type track needs ${names.event} or a column mapped to event (${names.map})`);
  }
  return plan;
}

/**
 * The lines of a rejects file: the input's columns (without an earlier import's `_line`/`_reason`)
 * plus `_line` and `_reason` (CSV), or each object with `_line` and `_reason` (JSON Lines). Fix the
 * rows and import the rejects file again with the same options.
 */
export class RejectsEncoder {
  constructor(
    private readonly format: ImportFormat,
    private readonly delimiter: string,
    /** The input's header: its columns are written back, without an earlier import's `_line`/`_reason`. */
    private readonly fileHeader: readonly string[],
  ) {}
  /** The first line of the file (CSV), or '' (JSON Lines). */
  header(): string {
    return this.format === 'csv' ? csvLine([...this.fileHeader.filter((c) => !BOOKKEEPING.has(c)), '_line', '_reason'], this.delimiter) : '';
  }
  line(row: Row, reason: string): string {
    if (this.format === 'csv') {
      const o = row.original as string[];
      // Drop an earlier import's bookkeeping columns, keep everything else (extra fields included).
      const kept = o.filter((_, i) => i >= this.fileHeader.length || !BOOKKEEPING.has(this.fileHeader[i]!));
      return csvLine([...kept, String(row.line), reason], this.delimiter);
    }
    const o = row.original;
    const obj = typeof o === 'string' ? { _raw: o } : Array.isArray(o) ? { _raw: o.join(',') } : { ...o };
    delete (obj as JsonObject)._line;
    delete (obj as JsonObject)._reason;
    return JSON.stringify({ ...obj, _line: row.line, _reason: reason }) + '\n';
  }
}
