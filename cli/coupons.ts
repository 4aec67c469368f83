/**
 * `npx cairn coupons ...`: coupon pools through the admin API (docs/journeys.md#coupons).
 *
 *   coupons load <pool> <codes.csv> [--column code] [--low-at N]   codes from a file (checked whole first)
 *   coupons generate <pool> --count N [--out codes.csv] [--low-at N] new unguessable, checksummed codes
 *   coupons status <pool>                                           codes, issued, remaining, redeemed
 *
 * `load` reads the whole file and refuses it, naming the rows, when a row is not a code or repeats
 * an earlier one, before sending anything. Then it sends COUPONS.maxCodesPerRequest codes per
 * request; codes already in the pool are skipped, so a load that was cut off can be run again.
 * Codes the stack refuses (already in another pool) are named by row, and the command exits 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { COUPONS } from '#shared/config';
import { canonicalCode, codeProblem, type LoadResult, type PoolStatus, type Refusal } from '#shared/coupons';
import { CairnError } from '#shared/errors';
import { csvLine, parseCsv } from './csv';
import { formatTable } from './format';
import { adminGet, adminSend, answerError, type Answer, type Target } from './http';

export interface CouponsDeps {
  target(cmd: Command): Promise<Target>;
  stdout(s: string): void;
  stderr(s: string): void;
  cwd: string;
}

const usage = (msg: string) => new CairnError('usage', msg, 400);
/** Rows named in one error message, at most. */
const MAX_NAMED = 20;

/** Headers that name the code column when --column is not given. */
const CODE_HEADERS = ['code', 'coupon', 'coupon_code', 'coupon code', 'codes'];

export interface CodeRow {
  /** Physical line of the file (1-based, as an editor shows it). */
  line: number;
  code: string;
}

/**
 * The codes of a CSV text: the column named `column` (or `code`/`coupon`/`coupon_code`, any case);
 * a file of one column with no such header has a code on every line. Throws `invalid_codes`
 * naming every bad line (not a code, a repeat of an earlier line, a broken CSV record).
 */
export function readCodes(text: string, file: string, column?: string): CodeRow[] {
  const { records } = parseCsv(text);
  const rows = records.filter((r) => r.error !== undefined || r.fields.some((f) => f.trim() !== ''));
  if (!rows.length) throw new CairnError('invalid_codes', `${file}: no codes`, 400);
  const header = rows[0]!.fields.map((f) => f.trim().toLowerCase());
  let col = column !== undefined ? header.indexOf(column.trim().toLowerCase()) : header.findIndex((h) => CODE_HEADERS.includes(h));
  if (column !== undefined && col < 0) throw usage(`${file}: no column ${JSON.stringify(column)} in the header (${rows[0]!.fields.join(', ')})`);
  let body = rows.slice(1);
  if (col < 0) {
    if (header.length !== 1) throw usage(`${file}: which column holds the codes? name it with --column (header: ${rows[0]!.fields.join(', ')})`);
    col = 0;
    body = rows;
  }
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const out: CodeRow[] = [];
  for (const r of body) {
    if (r.error !== undefined) {
      problems.push(`line ${r.line}: ${r.error}`);
      continue;
    }
    const code = (r.fields[col] ?? '').trim();
    const problem = codeProblem(code);
    if (problem) {
      problems.push(`line ${r.line}: ${JSON.stringify(code.slice(0, 80))}: ${problem}`);
      continue;
    }
    const canonical = canonicalCode(code);
    const first = seen.get(canonical);
    if (first !== undefined) {
      problems.push(`line ${r.line}: ${code}: the same code as line ${first}`);
      continue;
    }
    seen.set(canonical, r.line);
    out.push({ line: r.line, code });
  }
  if (problems.length) {
    const shown = problems.slice(0, MAX_NAMED).join('; ');
    const more = problems.length > MAX_NAMED ? `; and ${problems.length - MAX_NAMED} more` : '';
    throw new CairnError('invalid_codes', `${file}: ${problems.length} bad row(s), nothing loaded: ${shown}${more}`, 400, { problems });
  }
  if (!out.length) throw new CairnError('invalid_codes', `${file}: no codes`, 400);
  return out;
}

function check(a: Answer, what: string): void {
  if (a.status === 401 || a.status === 403)
    throw new CairnError(
      'unauthorized',
      `${a.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN, or your IAM permissions for --stack)`,
      a.status,
    );
  if (a.status !== 200) throw answerError(a, `${what} failed`);
}

function lowAtOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw usage(`--low-at must be a whole number of remaining codes, got ${JSON.stringify(v)}`);
  return n;
}

function formatOf(f: string): 'table' | 'json' {
  if (f !== 'table' && f !== 'json') throw usage(`--format must be table or json, got ${JSON.stringify(f)}`);
  return f;
}

export function renderStatus(s: PoolStatus): string {
  const rows: [string, unknown][] = [
    ['pool', s.pool],
    ['codes', s.codes],
    ['generated', s.generated],
    ['issued', s.issued],
    ['remaining', s.remaining],
    ['low at', s.lowAt],
    ['low', s.low],
    ['redeemed', s.redeemed],
    ['redeemed again (flagged)', s.redeemedAgain],
    ['redeemed, never issued', s.redeemedUnissued],
    ['load under way', s.loading],
    ['created', s.createdAt],
    ['updated', s.updatedAt],
  ];
  return formatTable(
    {
      columns: [
        { name: 'field', type: '' },
        { name: 'value', type: '' },
      ],
      rows: rows.map(([k, v]) => [k, v as string]),
    },
    80,
  );
}

const poolPath = (pool: string) => `/v1/coupons/${encodeURIComponent(pool)}`;

export function registerCouponsCommand(program: Command, deps: CouponsDeps): void {
  const coupons = program.command('coupons').description('coupon pools for journeys’ coupon steps: load, generate, status (docs/journeys.md#coupons)');

  coupons
    .command('load')
    .description('load codes from a CSV file into a pool (the file is checked whole first; codes already in the pool are skipped)')
    .argument('<pool>', 'pool id (letters, digits, - and _)')
    .argument('<file>', 'CSV with a code column (header code, coupon or coupon_code; or one column of codes)')
    .option('--column <name>', 'the column holding the codes')
    .option('--low-at <n>', `remaining codes at which the pool alarms (default: ${COUPONS.lowPercent}% of its codes)`)
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (pool: string, file: string, o: { column?: string; lowAt?: string; format: string }, cmd: Command) => {
      const format = formatOf(o.format);
      const lowAt = lowAtOf(o.lowAt);
      let text: string;
      try {
        text = readFileSync(resolve(deps.cwd, file), 'utf8');
      } catch (e) {
        throw usage(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
      const rows = readCodes(text, file, o.column);
      const t = await deps.target(cmd);
      const total = { pool, loaded: 0, alreadyLoaded: 0, size: 0, remaining: 0 };
      const refused: (Refusal & { line: number })[] = [];
      for (let i = 0; i < rows.length; i += COUPONS.maxCodesPerRequest) {
        const batch = rows.slice(i, i + COUPONS.maxCodesPerRequest);
        const a = await adminSend(t, 'POST', `${poolPath(pool)}/codes`, {
          codes: batch.map((r) => r.code),
          ...(lowAt !== undefined && i === 0 ? { lowAt } : {}),
        });
        check(a, 'loading codes');
        const r = a.json as LoadResult;
        total.loaded += r.loaded;
        total.alreadyLoaded += r.alreadyLoaded;
        total.size = r.size;
        total.remaining = r.remaining;
        for (const x of r.refused) refused.push({ ...x, line: batch[x.index]!.line });
      }
      deps.stdout(
        format === 'json'
          ? JSON.stringify({ ...total, refused }, null, 2) + '\n'
          : `pool ${pool}: ${total.loaded} code(s) loaded, ${total.alreadyLoaded} already there; ${total.size} in the pool, ${total.remaining} not yet issued\n`,
      );
      if (refused.length) {
        const shown = refused
          .slice(0, MAX_NAMED)
          .map((r) => `line ${r.line}: ${r.code}: ${r.reason}`)
          .join('; ');
        throw new CairnError(
          'coupon_codes_refused',
          `${refused.length} code(s) refused${refused.length > MAX_NAMED ? ` (first ${MAX_NAMED})` : ''}: ${shown}`,
          409,
        );
      }
    });

  coupons
    .command('generate')
    .description('generate new unguessable codes (75 random bits and a check symbol) into a pool, written as CSV')
    .argument('<pool>', 'pool id')
    .requiredOption('--count <n>', 'how many codes')
    .option('--out <file>', 'write the codes to this CSV file (default: stdout) for the shop’s till or site')
    .option('--low-at <n>', `remaining codes at which the pool alarms (default: ${COUPONS.lowPercent}% of its codes)`)
    .action(async (pool: string, o: { count: string; out?: string; lowAt?: string }, cmd: Command) => {
      const count = Number(o.count);
      if (!Number.isInteger(count) || count < 1 || count > 1_000_000)
        throw usage(`--count must be a whole number from 1 to 1000000, got ${JSON.stringify(o.count)}`);
      const lowAt = lowAtOf(o.lowAt);
      const t = await deps.target(cmd);
      const codes: string[] = [];
      let last: LoadResult | undefined;
      try {
        while (codes.length < count) {
          const n = Math.min(COUPONS.maxCodesPerRequest, count - codes.length);
          const a = await adminSend(t, 'POST', `${poolPath(pool)}/generate`, { count: n, ...(lowAt !== undefined && !codes.length ? { lowAt } : {}) });
          check(a, 'generating codes');
          const r = a.json as LoadResult & { codes: string[] };
          codes.push(...r.codes);
          last = r;
        }
      } finally {
        // Whatever was generated is in the pool: never lose the list, even when a later request failed.
        const csv = ['code', ...codes].map((c) => csvLine([c])).join('');
        if (o.out) writeFileSync(resolve(deps.cwd, o.out), csv);
        else if (codes.length) deps.stdout(csv);
      }
      deps.stderr(
        `pool ${pool}: ${codes.length} code(s) generated${o.out ? ` into ${o.out}` : ''}; ${last?.size ?? 0} in the pool, ${last?.remaining ?? 0} not yet issued\n`,
      );
    });

  coupons
    .command('status')
    .description('a pool: codes, issued, remaining, its low mark, redeemed and flagged redemptions')
    .argument('<pool>', 'pool id')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (pool: string, o: { format: string }, cmd: Command) => {
      const format = formatOf(o.format);
      const a = await adminGet(await deps.target(cmd), poolPath(pool));
      check(a, 'reading the pool');
      const s = a.json as PoolStatus;
      deps.stdout(format === 'json' ? JSON.stringify(s, null, 2) + '\n' : renderStatus(s));
    });
}
