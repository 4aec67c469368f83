/**
 * The streaming CSV parser behind `cairn import`: RFC 4180 quoting, BOM, CRLF, delimiters, and broken
 * lines reported with the line number an editor shows, without losing the rows after them.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CsvParser, csvLine, detectDelimiter, parseCsv, MAX_RECORD_CHARS } from '#cli/csv';

const fields = (text: string, d?: ',' | ';' | '\t') => parseCsv(text, d).records.map((r) => r.fields);

describe('CSV parser', () => {
  it('reads quoted fields, escaped quotes and quoted newlines, counting physical lines', () => {
    const text = 'id,name,note\n1,"Smith, Ada","said ""hi"""\n2,"Bob","two\nlines\nhere"\n3,Cy,plain\n';
    const { records } = parseCsv(text);
    expect(records.map((r) => r.fields)).toEqual([
      ['id', 'name', 'note'],
      ['1', 'Smith, Ada', 'said "hi"'],
      ['2', 'Bob', 'two\nlines\nhere'],
      ['3', 'Cy', 'plain'],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 6]);
    expect(records.every((r) => r.error === undefined)).toBe(true);
  });

  it('strips a UTF-8 BOM and handles CRLF, a missing final newline and blank lines', () => {
    const { records } = parseCsv('\uFEFFEmail,Name\r\na@b.com,Ada\r\n\r\nc@d.com,"Cy\r\nD"\r\ne@f.com,Eve');
    expect(records.map((r) => r.fields)).toEqual([
      ['Email', 'Name'],
      ['a@b.com', 'Ada'],
      ['c@d.com', 'Cy\r\nD'],
      ['e@f.com', 'Eve'],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 4, 6]);
  });

  it('detects ; and tab delimiters from the header line (outside quotes), or takes the one given', () => {
    expect(detectDelimiter('Email;Mobile;Name')).toBe(';');
    expect(detectDelimiter('Email\tMobile\tName')).toBe('\t');
    expect(detectDelimiter('"a;b",c')).toBe(',');
    expect(detectDelimiter('single')).toBe(',');
    expect(parseCsv('a;b\n"x;y";2\n')).toEqual(expect.objectContaining({ delimiter: ';' }));
    expect(fields('a;b\n"x;y";2\n')).toEqual([
      ['a', 'b'],
      ['x;y', '2'],
    ]);
    expect(fields('a\tb\nx\t"2,5"\n')).toEqual([
      ['a', 'b'],
      ['x', '2,5'],
    ]);
    // Forced: the header has no comma, so each line is one field.
    expect(fields('a;b\nx;y\n', ',')).toEqual([['a;b'], ['x;y']]);
  });

  it('reports an unterminated quote on its line and goes on with the next line', () => {
    const { records } = parseCsv('a,b\n1,"open\n2,ok\n3,fine\n');
    // The quote would otherwise swallow the file: at end of input the record is cut back to its line.
    expect(records[1]).toMatchObject({ line: 2, error: expect.stringMatching(/unterminated quoted field/) });
    expect(records.slice(2).map((r) => [r.line, r.fields])).toEqual([
      [3, ['2', 'ok']],
      [4, ['3', 'fine']],
    ]);
  });

  it('gives up on a quote that runs past the record size limit without buffering the whole file', () => {
    const p = new CsvParser(',');
    const out = [...p.push('a,b\n1,"never closed\n')];
    const filler = '2,x\n'.repeat(Math.ceil(MAX_RECORD_CHARS / 4) + 10);
    out.push(...p.push(filler));
    // Already out before the end of input: the broken line and the rows after it.
    expect(out[1]).toMatchObject({ line: 2, error: expect.stringMatching(/unterminated/) });
    expect(out.length).toBeGreaterThan(1000);
    out.push(...p.end());
    expect(out.length).toBe(2 + Math.ceil(MAX_RECORD_CHARS / 4) + 10);
    expect(out[out.length - 1]!.line).toBe(out.length);
  });

  it('flags text after a closing quote', () => {
    const { records } = parseCsv('a,b\n"x"y,2\n3,4\n');
    expect(records[1]).toMatchObject({ line: 2, fields: ['xy', '2'], error: expect.stringMatching(/after a closing quote/) });
    expect(records[2]).toMatchObject({ line: 3, fields: ['3', '4'] });
  });

  it('gives the same records however the text is cut into chunks', () => {
    const cell = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('"', '""', ',', '\n', '\r\n', ';', 'a"b', ' x '));
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(40), { maxLength: 6 }),
        (rows, cuts) => {
          const text = 'h1,h2\r\n' + rows.map((r) => csvLine(r)).join('');
          const whole = parseCsv(text, ',').records;
          // Written with csvLine, every row reads back as written.
          expect(whole.slice(1).map((r) => r.fields)).toEqual(rows);
          const p = new CsvParser(',');
          const got = [];
          let at = 0;
          for (const c of [...cuts].sort((x, y) => x - y)) {
            const to = Math.min(text.length, c * 3);
            if (to > at) got.push(...p.push(text.slice(at, to)));
            at = Math.max(at, to);
          }
          got.push(...p.push(text.slice(at)), ...p.end());
          expect(got).toEqual(whole);
        },
      ),
      { numRuns: 200 },
    );
  });
});
