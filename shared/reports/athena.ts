/**
 * The lake's query engine on AWS: Athena, through the stack's workgroup (which enforces where results
 * go and how they are encrypted, and caps the bytes a query may scan). The local twin answers the same
 * API over DuckDB (local/athena/), speaking DuckDB's SQL: the engine's dialect is configuration
 * (CAIRN_LAKE_DIALECT), the calls are the same.
 */
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type ColumnInfo,
  type GetQueryExecutionCommandOutput,
  type Row,
} from '@aws-sdk/client-athena';
import { athena } from '../aws/clients';
import { CairnError } from '../errors';
import type { Dialect } from './dialect';
import type { LakeEngine, LakeExecution, LakeQueryState } from './queries';
import type { Cell, Column, QueryResult } from './result';

/** Athena result values are text: give numbers and booleans their type back. */
export function athenaCell(value: string | undefined, type: string | undefined): Cell {
  if (value === undefined) return null;
  const t = (type ?? 'varchar').toLowerCase();
  if (/^(tinyint|smallint|integer|int|bigint)$/.test(t)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  if (/^(double|float|real)$/.test(t)) {
    const n = Number(value);
    return Number.isNaN(n) && value !== 'NaN' ? value : n;
  }
  if (t.startsWith('decimal')) {
    const n = Number(value);
    return value.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15 && Number.isFinite(n) ? n : value;
  }
  if (t === 'boolean') return value === 'true';
  return value;
}

/** Maps GetQueryResults pages to a QueryResult; Athena repeats the column labels as the first row of a SELECT. */
export function athenaResult(columnInfo: ColumnInfo[], pages: { Data?: { VarCharValue?: string }[] }[][]): QueryResult {
  const columns: Column[] = columnInfo.map((c) => ({
    name: c.Label ?? c.Name ?? '',
    type: (c.Type ?? 'varchar').toLowerCase() === 'json' ? 'JSON' : (c.Type ?? 'varchar'),
  }));
  const all = pages.flat();
  const first = all[0];
  if (first && columns.length > 0 && first.Data?.length === columns.length && first.Data.every((d, i) => d.VarCharValue === columns[i]!.name)) all.shift();
  const rows = all.map((r) => columns.map((c, i) => athenaCell(r.Data?.[i]?.VarCharValue, c.type)));
  return { columns, rows };
}

const STATES: Record<string, LakeQueryState> = { QUEUED: 'queued', RUNNING: 'running', SUCCEEDED: 'succeeded', FAILED: 'failed', CANCELLED: 'cancelled' };

/** Athena's execution ids are UUIDs; anything else is not one (and never reaches the API). */
const EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;

export interface AthenaEngineOptions {
  workgroup: string;
  database: string;
  dialect: Dialect;
}

export class AthenaLakeEngine implements LakeEngine {
  readonly dialect: Dialect;
  constructor(private readonly o: AthenaEngineOptions) {
    this.dialect = o.dialect;
  }

  async start(sql: string): Promise<string> {
    const r = await athena().send(
      new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: this.o.workgroup, QueryExecutionContext: { Database: this.o.database } }),
    );
    if (!r.QueryExecutionId) throw new CairnError('athena_error', 'Athena did not return a query execution id', 502);
    return r.QueryExecutionId;
  }

  async get(id: string): Promise<LakeExecution | null> {
    if (!EXECUTION_ID.test(id)) return null;
    let q: GetQueryExecutionCommandOutput;
    try {
      q = await athena().send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    } catch (e) {
      // An id Athena does not know (or one of another account's workgroups) is InvalidRequestException.
      if ((e as Error).name === 'InvalidRequestException') return null;
      throw e;
    }
    const x = q.QueryExecution;
    // Another workgroup's execution is not a lake query of this stack.
    if (!x || (x.WorkGroup && x.WorkGroup !== this.o.workgroup)) return null;
    const state = STATES[x.Status?.State ?? ''] ?? 'queued';
    const submitted = x.Status?.SubmissionDateTime;
    const done = state === 'succeeded' || state === 'failed' || state === 'cancelled';
    const elapsed = done ? x.Statistics?.TotalExecutionTimeInMillis : submitted ? Date.now() - submitted.getTime() : undefined;
    const reason = x.Status?.AthenaError?.ErrorMessage ?? x.Status?.StateChangeReason;
    return {
      state,
      sql: x.Query ?? '',
      ...(submitted ? { submittedAt: submitted.toISOString() } : {}),
      ...(elapsed !== undefined ? { elapsedMs: elapsed } : {}),
      ...(x.Statistics?.DataScannedInBytes !== undefined ? { scannedBytes: x.Statistics.DataScannedInBytes } : {}),
      ...(reason && state !== 'succeeded' ? { reason: reason.split('\n')[0]! } : {}),
    };
  }

  async results(id: string, maxRows: number): Promise<{ result: QueryResult; truncated: boolean }> {
    let columnInfo: ColumnInfo[] = [];
    const pages: Row[][] = [];
    let token: string | undefined;
    let n = 0;
    // One more than asked: the first row of a SELECT is its header.
    do {
      const page = await athena().send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: Math.min(1000, maxRows + 1 - n) }));
      if (page.ResultSet?.ResultSetMetadata?.ColumnInfo) columnInfo = page.ResultSet.ResultSetMetadata.ColumnInfo;
      const rows = page.ResultSet?.Rows ?? [];
      pages.push(rows);
      n += rows.length;
      token = page.NextToken;
    } while (token && n < maxRows + 1);
    const result = athenaResult(columnInfo, pages);
    const truncated = !!token || result.rows.length > maxRows;
    return { result: { columns: result.columns, rows: result.rows.slice(0, maxRows) }, truncated };
  }

  async stop(id: string): Promise<void> {
    await athena().send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
  }
}
