/**
 * A streaming CSV record parser (RFC 4180): quoted fields, `""` escapes, newlines inside quotes,
 * CRLF / LF / CR line ends, a UTF-8 BOM stripped. Text is pushed in chunks; complete records come
 * out with the physical line number they start on (the header is line 1), so a bad record can be
 * reported the way an editor shows it. A broken record never stops the parse: it comes out with an
 * `error` and parsing resumes after it.
 */

export type Delimiter = ',' | ';' | '\t';
export const DELIMITERS: readonly Delimiter[] = [',', ';', '\t'];

export interface CsvRecord {
  /** Physical line (1-based) the record starts on. */
  line: number;
  fields: string[];
  /** The record's text as it was in the file (without its line end). */
  raw: string;
  /** Set when the record is malformed (e.g. an unterminated quoted field); `fields` is then best-effort. */
  error?: string;
}

/** A quoted field may not run on longer than this before it counts as unterminated. */
export const MAX_RECORD_CHARS = 256 * 1024;

type Parsed = { kind: 'ok'; fields: string[]; end: number; next: number; lines: number; error?: string } | { kind: 'incomplete' };

/**
 * Parses one record of `buf` starting at `start`. `final`: no more text will come (the record may
 * end at the end of the buffer). `next` is where the following record starts, `lines` the number
 * of line ends consumed.
 */
function parseRecord(buf: string, start: number, d: string, final: boolean): Parsed {
  const fields: string[] = [];
  let i = start;
  let lines = 0;
  let error: string | undefined;
  const n = buf.length;
  for (;;) {
    // One field.
    if (i < n && buf[i] === '"') {
      let value = '';
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const q = buf.indexOf('"', j);
        if (q < 0) {
          j = n;
          break;
        }
        value += buf.slice(j, q);
        if (q + 1 >= n) {
          if (!final) return { kind: 'incomplete' };
          j = q + 1;
          closed = true;
          break;
        }
        if (buf[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        closed = true;
        break;
      }
      if (!closed) {
        if (!final) return { kind: 'incomplete' };
        return { kind: 'ok', fields, end: n, next: n, lines, error: 'unterminated quoted field' };
      }
      // Quoted newlines count as lines.
      for (let k = i; k < j; k++) {
        const c = buf.charCodeAt(k);
        if (c === 10 || (c === 13 && buf.charCodeAt(k + 1) !== 10)) lines++;
      }
      // After the closing quote: a delimiter, a line end or the end of input; anything else is broken.
      if (j < n && buf[j] !== d && buf[j] !== '\n' && buf[j] !== '\r') {
        error ??= `unexpected character after a closing quote in field ${fields.length + 1}`;
        // Take the rest of the field literally.
        let k = j;
        while (k < n && buf[k] !== d && buf[k] !== '\n' && buf[k] !== '\r') k++;
        if (k >= n && !final) return { kind: 'incomplete' };
        value += buf.slice(j, k);
        j = k;
      }
      fields.push(value);
      i = j;
    } else {
      let k = i;
      while (k < n) {
        const c = buf[k];
        if (c === d || c === '\n' || c === '\r') break;
        k++;
      }
      if (k >= n && !final) return { kind: 'incomplete' };
      fields.push(buf.slice(i, k));
      i = k;
    }
    // Between fields.
    if (i >= n) return { kind: 'ok', fields, end: n, next: n, lines, error };
    const c = buf[i];
    if (c === d) {
      i++;
      continue;
    }
    if (c === '\r') {
      if (i + 1 >= n && !final) return { kind: 'incomplete' };
      const next = buf[i + 1] === '\n' ? i + 2 : i + 1;
      return { kind: 'ok', fields, end: i, next, lines: lines + 1, error };
    }
    // '\n'
    return { kind: 'ok', fields, end: i, next: i + 1, lines: lines + 1, error };
  }
}

/** Index just after the first line end at or after `from` (or the buffer's length), and whether one was found. */
function afterLine(buf: string, from: number): { end: number; next: number; found: boolean } {
  for (let k = from; k < buf.length; k++) {
    const c = buf[k];
    if (c === '\n') return { end: k, next: k + 1, found: true };
    if (c === '\r') return { end: k, next: buf[k + 1] === '\n' ? k + 2 : k + 1, found: true };
  }
  return { end: buf.length, next: buf.length, found: false };
}

export class CsvParser {
  private buf = '';
  private pos = 0;
  private line = 1;
  private started = false;
  delimiter: Delimiter | undefined;

  /** `delimiter` undefined: detected from the first line (see `detectDelimiter`). */
  constructor(delimiter?: Delimiter) {
    this.delimiter = delimiter;
  }

  /** Adds text; returns the records completed by it. */
  push(chunk: string): CsvRecord[] {
    this.buf = this.pos > 0 ? this.buf.slice(this.pos) + chunk : this.buf + chunk;
    this.pos = 0;
    return this.drain(false);
  }

  /** No more text: returns the remaining records. */
  end(): CsvRecord[] {
    return this.drain(true);
  }

  private drain(final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (!this.started) {
      if (this.buf.length === 0 && !final) return out;
      if (this.buf.charCodeAt(0) === 0xfeff) this.buf = this.buf.slice(1);
      if (!this.delimiter) {
        const first = afterLine(this.buf, 0);
        // Wait for the whole header line unless it is very long or the input ended.
        if (!first.found && !final && this.buf.length < 64 * 1024) return out;
        this.delimiter = detectDelimiter(this.buf.slice(0, first.end));
      }
      this.started = true;
    }
    const d = this.delimiter!;
    while (this.pos < this.buf.length) {
      const start = this.pos;
      // Blank lines are skipped (they are not records).
      const c = this.buf[start];
      if (c === '\n' || c === '\r') {
        if (c === '\r' && start + 1 >= this.buf.length && !final) break;
        this.pos = c === '\r' && this.buf[start + 1] === '\n' ? start + 2 : start + 1;
        this.line++;
        continue;
      }
      let r = parseRecord(this.buf, start, d, final);
      if (r.kind === 'incomplete' && this.buf.length - start > MAX_RECORD_CHARS) {
        // A quote that never closes would swallow the rest of the file: treat it as unterminated now.
        r = parseRecord(this.buf, start, d, true);
      }
      if (r.kind === 'incomplete') break;
      if (r.error === 'unterminated quoted field') {
        // The record is only its first physical line; parsing resumes on the next one.
        const l = afterLine(this.buf, start);
        const raw = this.buf.slice(start, l.end);
        out.push({ line: this.line, fields: splitLoosely(raw, d), raw, error: 'unterminated quoted field (a " that never closes)' });
        this.pos = l.next;
        this.line += l.found ? 1 : 0;
        continue;
      }
      out.push({ line: this.line, fields: r.fields, raw: this.buf.slice(start, r.end), ...(r.error ? { error: r.error } : {}) });
      this.pos = r.next;
      this.line += r.lines;
    }
    return out;
  }
}

/** Best-effort split of a broken line (quotes ignored), so its cells can still be written out. */
function splitLoosely(raw: string, d: string): string[] {
  return raw.split(d);
}

/** The delimiter among `,` `;` tab that occurs most often outside quotes in `headerLine` (ties: `,`). */
export function detectDelimiter(headerLine: string): Delimiter {
  const counts = new Map<Delimiter, number>(DELIMITERS.map((x) => [x, 0]));
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch as Delimiter)) counts.set(ch as Delimiter, counts.get(ch as Delimiter)! + 1);
  }
  let best: Delimiter = ',';
  for (const x of DELIMITERS) if (counts.get(x)! > counts.get(best)!) best = x;
  return best;
}

/** One CSV field, quoted when it needs to be. */
export function csvField(v: string, d: string = ','): string {
  return v.includes('"') || v.includes(d) || v.includes('\n') || v.includes('\r') || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One CSV line (with CRLF, as RFC 4180 writes it). */
export function csvLine(fields: readonly string[], d: string = ','): string {
  return fields.map((f) => csvField(f, d)).join(d) + '\r\n';
}

/** Parses a whole CSV text (tests, small inputs). */
export function parseCsv(text: string, delimiter?: Delimiter): { delimiter: Delimiter; records: CsvRecord[] } {
  const p = new CsvParser(delimiter);
  const records = [...p.push(text), ...p.end()];
  return { delimiter: p.delimiter ?? ',', records };
}
