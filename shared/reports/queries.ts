/**
 * Lake queries run asynchronously (docs/api.md#lake-queries): start → poll → result, with progress and
 * cancel, because a report over a large lake on Athena takes longer than an API request may. The
 * engine is a port (`LakeEngine`): Athena on AWS (athena.ts), and locally the same Athena API served
 * by the local twin over DuckDB (local/athena/).
 *
 * Nothing is stored besides the engine's own execution: the query's name and options travel in a
 * first-line comment of its statement (`-- cairn-lake-query: {...}`), so any λ admin instance answers
 * for any query, and an execution not started here (no such comment) is not one of ours (404).
 */
import { CairnError } from '../errors';
import type { JourneyDef } from '../definitions';
import { REPORTS, reportSql, type ReportCliOptions } from './build';
import { today, type Dialect } from './dialect';
import { withRuntimeStats, type JourneyStatsLike } from './journey';
import { LAKE_QUERIES, lakeQuerySql, type LakeQueryName, type LakeQueryOptions } from './lake-queries';
import { withLiftInterval } from './lift';
import type { QueryResult } from './result';

export type LakeQueryState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What the engine says of one execution. */
export interface LakeExecution {
  state: LakeQueryState;
  /** The statement as it was submitted. */
  sql: string;
  submittedAt?: string;
  /** Time spent so far (queued and running), ms. */
  elapsedMs?: number;
  /** Bytes the engine has read so far. */
  scannedBytes?: number;
  /** Why it failed or was cancelled, as the engine says it (first line). */
  reason?: string;
}

/** A query engine over the lake, Athena's model: executions identified by id, read back in pages. */
export interface LakeEngine {
  /** The SQL it speaks (reports build their statements for it). */
  readonly dialect: Dialect;
  /** Submits `sql`; resolves with the execution id at once. */
  start(sql: string): Promise<string>;
  /** The execution, or null when the engine knows no such id. */
  get(id: string): Promise<LakeExecution | null>;
  /** The first `maxRows` rows of a succeeded execution. */
  results(id: string, maxRows: number): Promise<{ result: QueryResult; truncated: boolean }>;
  /** Cancels a queued or running execution. */
  stop(id: string): Promise<void>;
}

/** Every query the admin API runs: the reports, then the queries that look after the data. */
export const QUERY_NAMES = [...REPORTS, ...LAKE_QUERIES] as const;
export type QueryName = (typeof QUERY_NAMES)[number];

/** Rows a result carries at most (a report is an aggregate; `rfm` by person is the large one). */
export const MAX_RESULT_ROWS = 5_000;

/** What a run needs besides the engine: journeys for the `journey` report. */
export interface LakeQueryDeps {
  engine: LakeEngine;
  /** The stored journey's definition, or null (`journey` report). */
  journey(id: string): Promise<JourneyDef | null>;
  /** Its runtime counters (`GET /v1/journeys/{id}/stats`), added to the report when they answer. */
  journeyStats?(id: string): Promise<JourneyStatsLike | null>;
  /** Today's UTC date (tests). */
  today?(): string;
  now?(): number;
}

/** The query a statement was started for: the header comment's JSON. */
export interface QueryHeader {
  query: QueryName;
  options: Record<string, string | boolean>;
  journey?: string;
}

const HEADER = '-- cairn-lake-query: ';

export function withHeader(h: QueryHeader, sql: string): string {
  // JSON.stringify writes no line break: the comment ends at the end of its line.
  return `${HEADER}${JSON.stringify(h)}\n${sql}`;
}

export function headerOf(sql: string): QueryHeader | null {
  if (!sql.startsWith(HEADER)) return null;
  try {
    const h = JSON.parse(sql.slice(HEADER.length, sql.indexOf('\n'))) as QueryHeader;
    return (QUERY_NAMES as readonly string[]).includes(h.query) && h.options && typeof h.options === 'object' ? h : null;
  } catch {
    return null;
  }
}

const invalid = (msg: string) => new CairnError('invalid_lake_query', msg, 400);

const REPORT_OPTIONS: Record<string, 'string' | 'boolean'> = {
  steps: 'string',
  within: 'string',
  since: 'string',
  until: 'string',
  weeks: 'string',
  windows: 'string',
  asOf: 'string',
  people: 'boolean',
  grid: 'boolean',
  activationEvent: 'string',
  referralEvent: 'string',
  conversionEvent: 'string',
  by: 'string',
  profilesSince: 'string',
};
// Text options of the data queries (an option named `code` is a filter, not an error code).
const DATA_OPTIONS: Record<string, 'string'> = Object.fromEntries(['since', 'until', 'code', 'limit', 'hours', 'segment'].map((k) => [k, 'string']));

/** The body of `POST /v1/lake/queries`, checked: `{query, options?, journey?}`. */
export function parseQueryRequest(body: unknown): QueryHeader {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('body must be a JSON object: {"query": "funnel", "options": {...}}');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['query', 'options', 'journey'].includes(k)) throw invalid(`unknown field ${JSON.stringify(k.slice(0, 40))}`);
  if (typeof b.query !== 'string' || !(QUERY_NAMES as readonly string[]).includes(b.query))
    throw invalid(`query must be one of ${QUERY_NAMES.join(', ')}, got ${JSON.stringify(String(b.query).slice(0, 40))}`);
  const query = b.query as QueryName;
  const allowed: Record<string, string> = (REPORTS as readonly string[]).includes(query) ? REPORT_OPTIONS : DATA_OPTIONS;
  const raw = b.options ?? {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('options must be a JSON object');
  const options: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(raw)) {
    const type = Object.hasOwn(allowed, k) ? allowed[k] : undefined;
    if (!type) throw invalid(`${query} takes no option ${JSON.stringify(k.slice(0, 40))}; options: ${Object.keys(allowed).join(', ')}`);
    if (v === null || v === undefined || v === '') continue;
    if (typeof v !== type || (typeof v === 'string' && v.length > 1000))
      throw invalid(`option ${k} must be a ${type}${type === 'string' ? ' of at most 1000 characters' : ''}`);
    options[k] = v as string | boolean;
  }
  if (query === 'journey') {
    if (typeof b.journey !== 'string' || !b.journey) throw invalid('the journey report needs "journey": the journey id');
    return { query, options, journey: b.journey };
  }
  if (b.journey !== undefined) throw invalid('only the journey report takes "journey"');
  return { query, options };
}

/** The statement of a query (validated options; `journey` reads the stored journey). */
async function statementOf(h: QueryHeader, deps: LakeQueryDeps): Promise<string> {
  const d = deps.engine.dialect;
  const now = deps.today ?? today;
  try {
    if ((LAKE_QUERIES as readonly string[]).includes(h.query))
      return lakeQuerySql(h.query as LakeQueryName, h.options as LakeQueryOptions, d, deps.now?.() ?? Date.now());
    let def: JourneyDef | undefined;
    if (h.query === 'journey') {
      def = (await deps.journey(h.journey!)) ?? undefined;
      if (!def) throw new CairnError('journey_not_found', `no journey ${JSON.stringify(h.journey)}`, 404);
    }
    return reportSql(h.query, h.options as ReportCliOptions, d, def, now);
  } catch (e) {
    // The builders speak the command line's words (`--since`); the API names the same option.
    if (e instanceof CairnError && e.code === 'usage')
      throw invalid(e.message.replace(/--([a-z-]+)/g, (_, o: string) => o.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())));
    throw e;
  }
}

export interface LakeQueryView {
  id: string;
  query: QueryName;
  options: Record<string, string | boolean>;
  journey?: string;
  state: LakeQueryState;
  submittedAt?: string;
  progress: { elapsedMs?: number; scannedBytes?: number };
  reason?: string;
  /** When succeeded: the rows (at most MAX_RESULT_ROWS; `truncated` when there were more). */
  result?: QueryResult & { truncated: boolean };
}

/** Starts a query; answers its id at once. */
export async function startLakeQuery(h: QueryHeader, deps: LakeQueryDeps): Promise<LakeQueryView> {
  const sql = await statementOf(h, deps);
  const id = await deps.engine.start(withHeader(h, sql));
  return { id, query: h.query, options: h.options, ...(h.journey ? { journey: h.journey } : {}), state: 'queued', progress: {} };
}

const notFound = (id: string) => new CairnError('lake_query_not_found', `no lake query ${JSON.stringify(id.slice(0, 80))}`, 404);

async function ours(id: string, deps: LakeQueryDeps): Promise<{ x: LakeExecution; h: QueryHeader }> {
  const x = await deps.engine.get(id);
  const h = x && headerOf(x.sql);
  if (!x || !h) throw notFound(id);
  return { x, h };
}

function viewOf(id: string, x: LakeExecution, h: QueryHeader): LakeQueryView {
  return {
    id,
    query: h.query,
    options: h.options,
    ...(h.journey ? { journey: h.journey } : {}),
    state: x.state,
    ...(x.submittedAt ? { submittedAt: x.submittedAt } : {}),
    progress: { ...(x.elapsedMs !== undefined ? { elapsedMs: x.elapsedMs } : {}), ...(x.scannedBytes !== undefined ? { scannedBytes: x.scannedBytes } : {}) },
    ...(x.reason ? { reason: x.reason } : {}),
  };
}

/** The query's state and progress; its result once it succeeded (the journey report with its lift interval and runtime counters). */
export async function lakeQueryStatus(id: string, deps: LakeQueryDeps): Promise<LakeQueryView> {
  const { x, h } = await ours(id, deps);
  const view = viewOf(id, x, h);
  if (x.state !== 'succeeded') return view;
  const { result, truncated } = await deps.engine.results(id, MAX_RESULT_ROWS);
  let r = result;
  if (h.query === 'journey') {
    r = withLiftInterval(r);
    const def = await deps.journey(h.journey!);
    const stats = def && deps.journeyStats ? await deps.journeyStats(h.journey!).catch(() => null) : null;
    if (def && stats) r = withRuntimeStats(r, def, stats);
  }
  return { ...view, result: { ...r, truncated } };
}

/** Cancels a queued or running query (a finished one keeps its state) and answers its state after. */
export async function cancelLakeQuery(id: string, deps: LakeQueryDeps): Promise<LakeQueryView> {
  const { x, h } = await ours(id, deps);
  if (x.state !== 'queued' && x.state !== 'running') return viewOf(id, x, h);
  await deps.engine.stop(id);
  return viewOf(id, (await deps.engine.get(id)) ?? x, h);
}
