/**
 * Reads the error codes the source can produce and the entries of docs/errors.md
 * (tests/unit/error-codes.test.ts says how).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The folders whose TypeScript can produce an error a user meets. */
export const SOURCE_DIRS = ['shared', 'functions', 'cli', 'local', 'infra'];
export const DOC = 'docs/errors.md';

/**
 * Values in code positions that are not Cairn error codes, each with why. Narrow on purpose: a file
 * and the exact value, or a whole function for wire-protocol emulators.
 */
export const NOT_CAIRN_CODES: { file: string; code?: string; sink?: string; why: string }[] = [
  { file: 'shared/definitions/schema-fields.ts', code: 'custom', why: "zod's issue kind (ctx.addIssue), turned into invalid_definition" },
  { file: 'infra/constructs/lake-schema.ts', code: 'string', why: "the Glue column type of the quarantine table's code column" },
  { file: 'local/outbox/server.ts', sink: 'snsError', why: "the local SNS emulator answers AWS's own error codes (InvalidParameter), as SNS does" },
  { file: 'shared/coupons/issue.ts', code: '', why: 'a coupon code: the empty one of an issue that found its pool empty' },
  { file: 'shared/coupons/load.ts', code: '', why: 'a coupon code: the empty one of a slot left as a hole' },
];

export interface CodeSite {
  /** The code, or a family with `<>` for each variable part (`http_<>`). */
  code: string;
  at: string;
}

export interface ScanResult {
  codes: CodeSite[];
  /** Expressions in a code position the scanner cannot read, with where. */
  unread: string[];
}

interface Sinks {
  /** Functions, arrow functions and classes (by constructor) declared in each file, by name → index of `code`; -1: no such parameter. */
  declared: Map<string, Map<string, number>>;
  /** Methods with a `code` parameter, by name → its index (called as `x.name(…)` / `this.name(…)`). */
  methods: Map<string, number>;
  /** Names each file imports, local name → exported name. */
  imports: Map<string, Map<string, string>>;
}

const paramIndex = (params: ts.NodeArray<ts.ParameterDeclaration> | undefined): number =>
  params ? params.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === 'code') : -1;

function collectSinks(path: string, sf: ts.SourceFile, sinks: Sinks): void {
  const declared = new Map<string, number>();
  const imports = new Map<string, string>();
  sinks.declared.set(path, declared);
  sinks.imports.set(path, imports);
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) && n.name) declared.set(n.name.text, Math.max(declared.get(n.name.text) ?? -1, paramIndex(n.parameters)));
    else if (ts.isClassDeclaration(n) && n.name) declared.set(n.name.text, paramIndex(n.members.find(ts.isConstructorDeclaration)?.parameters));
    else if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name)) {
      const f = n.initializer && (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer)) ? n.initializer : undefined;
      declared.set(n.name.text, paramIndex(f?.parameters));
    } else if (ts.isParameter(n) && ts.isIdentifier(n.name)) declared.set(n.name.text, declared.get(n.name.text) ?? -1);
    else if (ts.isMethodDeclaration(n) && ts.isIdentifier(n.name)) {
      const i = paramIndex(n.parameters);
      if (i >= 0) sinks.methods.set(n.name.text, i);
    } else if (ts.isImportSpecifier(n)) imports.set(n.name.text, (n.propertyName ?? n.name).text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
}

/** Index of the `code` parameter of what a call or `new` calls, if it has one. */
function sinkIndex(sinks: Sinks, path: string, callee: ts.Expression): { name: string; index: number } | undefined {
  callee = unwrap(callee);
  if (ts.isPropertyAccessExpression(callee)) {
    const index = sinks.methods.get(callee.name.text);
    return index === undefined ? undefined : { name: callee.name.text, index };
  }
  if (!ts.isIdentifier(callee)) return undefined;
  const name = callee.text;
  const here = sinks.declared.get(path)?.get(name);
  if (here !== undefined) return here >= 0 ? { name, index: here } : undefined;
  const exported = sinks.imports.get(path)?.get(name);
  if (exported === undefined) return undefined;
  for (const decl of sinks.declared.values()) {
    const i = decl.get(exported);
    if (i !== undefined && i >= 0) return { name: exported, index: i };
  }
  return undefined;
}

const unwrap = (e: ts.Expression): ts.Expression =>
  ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e) ? unwrap(e.expression) : e;

/** The codes an expression can be: literals; undefined when it cannot be read; [] when it forwards a code. */
function valuesOf(e: ts.Expression, templates: boolean): string[] | undefined {
  e = unwrap(e);
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return [e.text];
  if (templates && ts.isTemplateExpression(e)) return [e.head.text + e.templateSpans.map((s) => '<>' + s.literal.text).join('')];
  if (ts.isConditionalExpression(e)) {
    const a = valuesOf(e.whenTrue, templates);
    const b = valuesOf(e.whenFalse, templates);
    return a && b ? [...a, ...b] : undefined;
  }
  if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || e.operatorToken.kind === ts.SyntaxKind.BarBarToken)) {
    const a = valuesOf(e.left, templates);
    const b = valuesOf(e.right, templates);
    return a && b ? [...a, ...b] : undefined;
  }
  // Forwarding a code produced elsewhere: a parameter/variable named `code`, or `x.code` / `x?.code`.
  if (ts.isIdentifier(e) && e.text === 'code') return [];
  if ((ts.isPropertyAccessExpression(e) || ts.isPropertyAccessChain(e)) && e.name.text === 'code') return [];
  return undefined;
}

/** String-literal members of a type (`'a' | 'b'`); [] for anything else. */
function literalTypes(t: ts.TypeNode | undefined): string[] {
  if (!t) return [];
  if (ts.isUnionTypeNode(t)) return t.types.flatMap(literalTypes);
  if (ts.isParenthesizedTypeNode(t)) return literalTypes(t.type);
  if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) return [t.literal.text];
  return [];
}

/** Scans TypeScript sources (path → text) for the error codes they can produce. */
export function scanSources(files: Map<string, string>): ScanResult {
  const parsed = [...files].map(([path, text]) => ({ path, sf: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true) }));
  const sinks: Sinks = { declared: new Map(), methods: new Map(), imports: new Map() };
  for (const { path, sf } of parsed) collectSinks(path, sf, sinks);
  const codes: CodeSite[] = [];
  const unread: string[] = [];
  for (const { path, sf } of parsed) {
    const where = (n: ts.Node) => `${path}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
    const ignored = (code: string, sink?: string) =>
      NOT_CAIRN_CODES.some((x) => x.file === path && (x.code === code || (sink !== undefined && x.sink === sink)));
    const record = (n: ts.Node, values: string[] | undefined, sink?: string) => {
      if (values === undefined) {
        if (!(sink && NOT_CAIRN_CODES.some((x) => x.file === path && x.sink === sink))) unread.push(`${where(n)}: ${n.getText(sf).slice(0, 80)}`);
        return;
      }
      for (const code of values) if (!ignored(code, sink)) codes.push({ code, at: where(n) });
    };
    const visit = (n: ts.Node): void => {
      if ((ts.isCallExpression(n) || ts.isNewExpression(n)) && n.arguments) {
        // Resolved by scope: a local `fail` (a promise's reject) is not collect's `fail(code, …)`.
        const sink = sinkIndex(sinks, path, n.expression);
        const arg = sink ? n.arguments[sink.index] : undefined;
        if (sink && arg && !ts.isSpreadElement(arg)) record(arg, valuesOf(arg, true), sink.name);
      } else if (ts.isPropertyAssignment(n) && (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name)) && n.name.text === 'code') {
        // A call's result is not a string code (CDK's `code: lambda.Code.fromAsset(…)`).
        const v = unwrap(n.initializer);
        if (!ts.isCallExpression(v) && !ts.isNewExpression(v)) record(n.initializer, valuesOf(n.initializer, true));
      } else if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === 'code' && n.initializer) {
        // Literals only: `const code = \`${orderId}-GIFT\`` (a gift code in the demo) is not an error code.
        const v = valuesOf(n.initializer, false);
        if (v) record(n.initializer, v);
      } else if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(n.left) && n.left.text === 'code') {
        const v = valuesOf(n.right, false);
        if (v) record(n.right, v);
      } else if (
        ts.isBinaryExpression(n) &&
        n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        ts.isPropertyAccessExpression(unwrap(n.left)) &&
        (unwrap(n.left) as ts.PropertyAccessExpression).name.text === 'code'
      ) {
        // `err.code = '…'` on an error built some other way.
        record(n.right, valuesOf(n.right, true));
      } else if (ts.isPropertySignature(n) && ts.isIdentifier(n.name) && n.name.text === 'code') {
        record(n, literalTypes(n.type));
      } else if (ts.isTypeAliasDeclaration(n) && /Code$/.test(n.name.text)) {
        record(n, literalTypes(n.type));
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return { codes, unread };
}

/** The TypeScript files under the source folders, relative to the repository root. */
export function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'node_modules' ? [] : walk(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

export interface DocEntry {
  codes: string[];
  line: number;
  section: string;
  status?: string;
  meaning: string;
  reserved: boolean;
}

/** Cells of a Markdown table row; `|` inside backticks or escaped does not split. */
function cells(row: string): string[] {
  const out: string[] = [];
  let cur = '';
  let tick = false;
  const body = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && body[i + 1] === '|') {
      cur += '|';
      i++;
    } else if (c === '`') {
      tick = !tick;
      cur += c;
    } else if (c === '|' && !tick) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** The entries of every table whose first column is `code`: `| code | [status|exit |] meaning |`. */
export function parseDoc(text: string): { entries: DocEntry[]; problems: string[] } {
  const entries: DocEntry[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  let section = '';
  let header: string[] | undefined;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) section = h[1]!;
    if (!line.startsWith('|')) {
      header = undefined;
      return;
    }
    const row = cells(line);
    if (!header) {
      header = row.map((c) => c.toLowerCase());
      return;
    }
    if (row.every((c) => /^:?-+:?$/.test(c))) return;
    if (header[0] !== 'code') return;
    const at = `${DOC}:${i + 1} (${section})`;
    if (row.length !== header.length) problems.push(`${at}: ${row.length} cells, the table has ${header.length}`);
    const codeCell = row[0] ?? '';
    const codes = [...codeCell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const rest = codeCell.replace(/`[^`]+`/g, '').replace(/[,\s]/g, '');
    if (!codes.length || rest) problems.push(`${at}: the code cell must be one or more \`code\`s separated by commas, got ${JSON.stringify(codeCell)}`);
    for (const c of codes) if (!/^[a-z][a-z0-9_]*(<[a-z_]+>[a-z0-9_]*)*$/.test(c)) problems.push(`${at}: ${JSON.stringify(c)} is not a snake_case code`);
    const meaning = row[row.length - 1] ?? '';
    const statusCol = header.indexOf('status');
    const exitCol = header.indexOf('exit');
    const status = statusCol > 0 ? row[statusCol] : exitCol > 0 ? row[exitCol] : undefined;
    if (statusCol > 0 && !/^[1-5]\d\d$|^—$/.test(status ?? '')) problems.push(`${at}: status must be an HTTP status (or —), got ${JSON.stringify(status)}`);
    if (exitCol > 0 && !/^\d$/.test(status ?? '')) problems.push(`${at}: exit must be a process exit code, got ${JSON.stringify(status)}`);
    // The meaning says what happened (and, where the cause does not make it plain, what to do):
    // a sentence, not a blank or a restatement of the code.
    const words = meaning
      .replace(/`[^`]*`/g, 'x')
      .split(/\s+/)
      .filter(Boolean);
    if (words.length < 3 || codes.includes(meaning.replace(/`/g, '')))
      problems.push(`${at}: ${codes.join(', ')}: the meaning (what happened, what to do) is missing or too short: ${JSON.stringify(meaning)}`);
    entries.push({ codes, line: i + 1, section, status, meaning, reserved: /^(\*\*)?reserved\b/i.test(meaning) });
  });
  return { entries, problems };
}

/** `http_<status>` and `http_${a.status}` are the same family: compare with every placeholder as `<>`. */
const family = (code: string) => code.replace(/<[^>]*>/g, '<>');

/** Source codes that no entry documents, with where each is produced. */
export function undocumented(codes: CodeSite[], entries: DocEntry[]): string[] {
  const documented = new Set(entries.flatMap((e) => e.codes.map(family)));
  const missing = new Map<string, string[]>();
  for (const { code, at } of codes) {
    if (documented.has(family(code))) continue;
    missing.set(code, [...(missing.get(code) ?? []), at]);
  }
  return [...missing].sort(([a], [b]) => a.localeCompare(b)).map(([code, at]) => `${code} — produced at ${at.join(', ')}`);
}

/** Documented codes no source produces (and not marked reserved). */
export function stale(codes: CodeSite[], entries: DocEntry[]): string[] {
  const produced = new Set(codes.map((c) => family(c.code)));
  return entries.flatMap((e) =>
    e.reserved ? [] : e.codes.filter((c) => !produced.has(family(c))).map((c) => `${c} — ${DOC}:${e.line} (${e.section}): no source produces it`),
  );
}

/** Every code the repository's source can produce. */
export function scanRepository(): ScanResult {
  return scanSources(new Map(SOURCE_DIRS.flatMap(walk).map((p) => [p.split('\\').join('/'), readFileSync(join(ROOT, p), 'utf8')] as const)));
}

/** The entries of docs/errors.md. */
export function readDoc(): { entries: DocEntry[]; problems: string[] } {
  return parseDoc(readFileSync(join(ROOT, DOC), 'utf8'));
}
