/**
 * Every error code the source can produce is documented in docs/errors.md, every documented code is
 * one the source produces (or is marked reserved: a meaning starting "Reserved"), and every entry has
 * its status (or exit code) where its table has that column and a meaning: what happened and, where
 * the cause does not make it plain, what to do (one column in the doc, so checked only as a sentence).
 *
 * The source is read with the TypeScript parser (so formatting does not matter: a code on the next
 * line, in a ternary, in a template), not by running it. A code is any value that reaches
 *   - an argument of a function, method or constructor whose parameter is named `code`
 *     (`new CairnError(code, …)`, normalize's `new Reject(code, …)`, collect's `fail(code, …)`,
 *     the local server's `err(code, …)`, `quarantineRow(…, code, …)`, resolve's `quarantine(m, code, …)`);
 *   - a `code:` property of an object literal (quarantine rows, `LakeObjectError` failures);
 *   - a variable named `code` (`let code = 'invalid_field'; … code = 'missing_field'`), or `x.code = …`;
 *   - a string-literal type of a `code` property or of a type alias named `…Code` (identifier
 *     rejections, `LakeFailureCode`).
 * A value is a string literal, a ternary or `??`/`||` of them, or a template (`http_${status}` is the
 * family documented as `http_<status>`). An argument that forwards a code already produced elsewhere
 * (`e.code`, a parameter named `code`) adds none; any other expression is reported, so a new way of
 * building a code cannot slip past unread.
 */
import { describe, expect, it } from 'vitest';
import { DOC, parseDoc, readDoc, scanRepository, scanSources, stale, undocumented } from '../support/error-codes';

const scan = scanRepository();
const doc = readDoc();

describe('the error-code scanner', () => {
  const one = (text: string) => scanSources(new Map([['x.ts', text]]));

  it('reads codes however they are written and built', () => {
    const r = one(`
      class CairnError extends Error { constructor(readonly code: string, message: string, readonly status = 400) { super(message); } }
      function fail(code: string, status: number, what: string): never { throw new CairnError(code, what, status); }
      const err = (code: string, message: string) => new CairnError(code, message);
      throw new CairnError(
        'on_the_next_line',
        'message',
        404,
      );
      new CairnError("double_quoted", 'm');
      new CairnError(\`template_literal\`, 'm');
      new CairnError(x ? 'when_true' : ('when_false' as string), 'm');
      new CairnError(\`http_\${a.status}\`, 'm');
      new CairnError(e.code, 'm');
      new CairnError(answer?.code ?? 'fallback_code', 'm');
      fail('through_helper', 400, 'w');
      err('through_arrow', 'm');
      const row = { message_id: null, code: 'object_property', reason: 'r' };
      let code = 'variable_initial';
      if (y) code = 'variable_assigned';
      interface Bad { code: 'union_one' | 'union_two' }
      type FailureCode = 'alias_one' | 'alias_two';
      const e = new Error('m');
      (e as Error & { code?: string }).code = 'property_assigned';
    `);
    expect(r.unread).toEqual([]);
    expect(r.codes.map((c) => c.code).sort()).toEqual(
      [
        'on_the_next_line',
        'double_quoted',
        'template_literal',
        'when_true',
        'when_false',
        'http_<>',
        'fallback_code',
        'through_helper',
        'through_arrow',
        'object_property',
        'variable_initial',
        'variable_assigned',
        'union_one',
        'union_two',
        'alias_one',
        'alias_two',
        'property_assigned',
      ].sort(),
    );
    expect(r.codes.find((c) => c.code === 'on_the_next_line')!.at).toBe('x.ts:6');
  });

  it('reports a code it cannot read instead of skipping it', () => {
    const r = one(`
      class CairnError extends Error { constructor(readonly code: string, message: string) { super(message); } }
      const CODES = ['a'];
      throw new CairnError(CODES[0], 'm');
    `);
    expect(r.unread).toEqual(['x.ts:4: CODES[0]']);
  });

  it('fails on an undocumented code, a stale entry and an entry without a meaning', () => {
    const d = parseDoc(
      [
        '## API',
        '',
        '| code | status | meaning |',
        '|---|---|---|',
        '| `documented` | 400 | the body is wrong: fix the field the message names and retry |',
        '| `stale_one` | 404 | nothing produces this any more, so it should be removed |',
        '| `reserved_one` | 400 | Reserved: not produced yet, kept so clients can match on it |',
        '| `terse` | 4xx | bad |',
        '| `http_<status>` | — | the server answered without an error body: see its status |',
      ].join('\n'),
    );
    expect(d.problems).toEqual([
      `${DOC}:8 (API): status must be an HTTP status (or —), got "4xx"`,
      `${DOC}:8 (API): terse: the meaning (what happened, what to do) is missing or too short: "bad"`,
    ]);
    const codes = [
      { code: 'documented', at: 'a.ts:1' },
      { code: 'missing', at: 'b.ts:2' },
      { code: 'missing', at: 'c.ts:3' },
      { code: 'terse', at: 'd.ts:4' },
      { code: 'http_<>', at: 'e.ts:5' },
    ];
    expect(undocumented(codes, d.entries)).toEqual(['missing — produced at b.ts:2, c.ts:3']);
    expect(stale(codes, d.entries)).toEqual([`stale_one — ${DOC}:6 (API): no source produces it`]);
  });

  it('finds the codes of every kind of construction in the real source (it is not reading nothing)', () => {
    const found = new Set(scan.codes.map((c) => c.code));
    for (const c of [
      'invalid_write_key', // new CairnError in shared/collect
      'invalid_field', // collect's fail(code, …) and a ternary in shared/collect/browser.ts
      'invalid_timestamp', // normalize: let code = …; code = …
      'invalid_envelope', // normalize: new Reject(code, …)
      'invalid_utf8', // normalize handler: quarantineRow(…, code, …)
      'no_usable_identifier', // resolve: this.quarantine(m, code, …)
      'malformed_record', // resolve handler: { code: … } quarantine row
      'identifier_too_long', // identifiers: code: 'a' | 'b' type
      'lake_access_denied', // privacy/lake: code: denied ? … : …, and LakeFailureCode
      'bad_request', // local/http.ts err(code, …)
      'http_<>', // cli: `http_${status}`
      'stack_not_running', // cli/http.ts
    ])
      expect(found, c).toContain(c);
    expect(scan.codes.length).toBeGreaterThan(200);
  });
});

describe(`every error code is documented in ${DOC}`, () => {
  it('reads every code position in the source (a code built some other way must be made readable)', () => {
    expect(scan.unread).toEqual([]);
  });

  it('each entry has its code(s), a status or exit code where the table has one, and a meaning', () => {
    expect(doc.entries.length).toBeGreaterThan(50);
    expect(doc.problems).toEqual([]);
  });

  it('documents every code the source can produce', () => {
    expect(undocumented(scan.codes, doc.entries)).toEqual([]);
  });

  it('documents no code the source cannot produce, unless it is marked reserved', () => {
    expect(stale(scan.codes, doc.entries)).toEqual([]);
  });
});
