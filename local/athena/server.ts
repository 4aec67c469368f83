/**
 * Local Amazon Athena: an HTTP server on 127.0.0.1 speaking Athena's JSON 1.1 protocol
 * (`X-Amz-Target: AmazonAthena.<Operation>`), so the AWS SDK v3 `AthenaClient` (with `endpoint` set)
 * works unchanged — λ admin's lake queries (shared/reports/athena.ts) run through it as on AWS. The
 * operations Cairn uses, with the shapes and errors of the SDK model (@aws-sdk/client-athena) and the
 * API reference:
 *
 * - `StartQueryExecution` (QueryString, WorkGroup, QueryExecutionContext → QueryExecutionId): the
 *   query starts at once, in the background; an unknown workgroup is `InvalidRequestException`;
 * - `GetQueryExecution`: Status (QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED, submission and
 *   completion times, StateChangeReason and AthenaError on failure), Statistics (times; DataScannedInBytes
 *   approximated, below), Query, WorkGroup; an unknown id is `InvalidRequestException`;
 * - `GetQueryResults` (MaxResults ≤ 1000, NextToken): a SELECT's column labels as its first row, then
 *   the rows, every value as text (`VarCharValue`, absent for NULL), ColumnInfo with Athena's type
 *   names; before SUCCEEDED it is `InvalidRequestException`;
 * - `StopQueryExecution`: interrupts a queued or running query (CANCELLED); a finished one is left as is.
 *
 * Queries run a few at once (`concurrency`, the cores by default); the rest wait QUEUED in order, as
 * Athena's wait for resources.
 *
 * The one difference is the language: queries run on DuckDB over the local lake (local/lake.ts), so
 * they are written in DuckDB's SQL (λ admin is told so by CAIRN_LAKE_DIALECT=duckdb). Athena reports
 * the bytes it read; DuckDB does not, so DataScannedInBytes is DuckDB's progress estimate times the
 * size of the lake's objects, an approximation that moves as a long query runs. Executions are kept in
 * memory (the last 500), not across restarts; Athena keeps them 45 days.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isPlainObject } from '#shared/lang';
import { log } from '#shared/log';
import type { Cell, QueryResult } from '#shared/reports';
import { serveAwsJson } from '../aws-json';
import { AwsError } from '../aws-http';
import { localLakeDir, openLocalLake, type LocalLake } from '../lake';

type State = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

interface Execution {
  id: string;
  query: string;
  workgroup: string;
  database?: string;
  state: State;
  /** Epoch ms. */
  submitted: number;
  started?: number;
  completed?: number;
  reason?: string;
  result?: QueryResult;
  /** Scanned bytes so far (approximate, see the module comment). */
  scanned: () => number;
  abort: AbortController;
}

export interface LocalAthena {
  endpoint: string;
  /** Executions held, by state (`GET /v1/status` of the stack shows it). */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

const MAX_BODY = 512 * 1024;
/** Athena's limit on a query string: 262,144 bytes. */
const MAX_QUERY_BYTES = 262_144;
const KEEP = 500;

/** DuckDB type names → the ones Athena's ColumnInfo gives. */
export function athenaType(duck: string): string {
  const t = duck.toUpperCase();
  if (t === 'JSON') return 'json';
  if (t === 'BIGINT' || t === 'HUGEINT' || t === 'UBIGINT' || t === 'UINTEGER') return 'bigint';
  if (t === 'INTEGER' || t === 'USMALLINT') return 'integer';
  if (t === 'SMALLINT' || t === 'UTINYINT') return 'smallint';
  if (t === 'TINYINT') return 'tinyint';
  if (t === 'DOUBLE') return 'double';
  if (t === 'FLOAT') return 'real';
  if (t.startsWith('DECIMAL')) return t.toLowerCase();
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return t.includes('TIME ZONE') || t === 'TIMESTAMPTZ' ? 'timestamp with time zone' : 'timestamp';
  if (t.endsWith('[]')) return 'array';
  return 'varchar';
}

/** A cell as Athena's text (`VarCharValue`), absent for NULL. */
const text = (c: Cell): { VarCharValue?: string } =>
  c === null ? {} : { VarCharValue: typeof c === 'string' ? c : typeof c === 'number' || typeof c === 'boolean' ? String(c) : JSON.stringify(c) };

/** Bytes of the lake's objects (what a full scan would read). */
function lakeBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.name.endsWith('._S3rver_object')) total += statSync(p, { throwIfNoEntry: false })?.size ?? 0;
    }
  }
  return total;
}

export interface AthenaOptions {
  dataDir: string;
  workgroups: string[];
  port?: number;
  /**
   * Queries run at once; the rest wait QUEUED, in order, as Athena queues what exceeds an account's
   * concurrency. Default: the machine's cores (at most 4). DuckDB already spreads one query over the
   * cores, so more at once only share them: six lifecycle windows at once on 2 cores took ~600 ms
   * each, one after another ~50 ms each.
   */
  concurrency?: number;
}

export async function startAthena(opts: AthenaOptions): Promise<LocalAthena> {
  const executions = new Map<string, Execution>();
  const lakeDir = localLakeDir(opts.dataDir);
  const concurrency = Math.max(1, opts.concurrency ?? Math.min(4, availableParallelism()));
  // Open lakes kept between queries (one runs one query at a time): opening DuckDB and defining the
  // views costs more than a small query (~100 ms on 2 busy cores), so as many as run at once are
  // opened at start, in the background, and kept.
  const idleLakes: LocalLake[] = [];
  const warming: Promise<LocalLake | null>[] = [];
  let closed = false;
  const release = (lake: LocalLake) => {
    if (!closed && idleLakes.length < concurrency) idleLakes.push(lake);
    else lake.close();
  };
  const warm = (): Promise<LocalLake | null> =>
    openLocalLake(opts.dataDir).then(
      async (lake) => {
        // The first query defines the views.
        await lake.query('SELECT 1').catch(() => undefined);
        if (closed) {
          lake.close();
          return null;
        }
        return lake;
      },
      (e) => {
        log('warn', 'athena.warm_failed', { error: (e as Error).message });
        return null;
      },
    );
  for (let i = 0; i < concurrency; i++) {
    const w = warm();
    warming.push(w);
    void w.then((lake) => {
      const at = warming.indexOf(w);
      // Not taken by a query while it warmed: idle.
      if (at >= 0) {
        warming.splice(at, 1);
        if (lake) release(lake);
      }
    });
  }
  const acquire = async (): Promise<LocalLake> => {
    const idle = idleLakes.pop();
    if (idle) return idle;
    const w = warming.shift();
    return (w && (await w)) || openLocalLake(opts.dataDir);
  };

  // The lake's size, walked at most once a second (a page starts several queries at once; the figure is an approximation anyway).
  let sized = { at: 0, bytes: 0 };
  const lakeSize = () => {
    if (Date.now() - sized.at > 1_000) sized = { at: Date.now(), bytes: lakeBytes(lakeDir) };
    return sized.bytes;
  };

  const queue: Execution[] = [];
  let running = 0;
  const pump = () => {
    while (!closed && running < concurrency && queue.length) {
      const x = queue.shift()!;
      // Cancelled while it waited.
      if (x.state !== 'QUEUED') continue;
      running++;
      void run(x)
        .catch((e) => log('error', 'athena.run_failed', { error: (e as Error).message }))
        .finally(() => {
          running--;
          pump();
        });
    }
  };

  const find = (body: Record<string, unknown>): Execution => {
    const id = typeof body.QueryExecutionId === 'string' ? body.QueryExecutionId : '';
    const x = executions.get(id);
    if (!x) throw new AwsError('InvalidRequestException', `QUERY_NOT_FOUND: Query ${id} was not found`);
    return x;
  };

  const run = async (x: Execution) => {
    const lake = await acquire();
    const size = lakeSize();
    x.scanned = () => Math.round((lake.progress() ?? 0) * size);
    try {
      if (x.abort.signal.aborted) return;
      x.state = 'RUNNING';
      x.started = Date.now();
      const result = await lake.query(x.query, { signal: x.abort.signal });
      if (x.state !== 'RUNNING') return;
      x.result = result;
      x.state = 'SUCCEEDED';
      x.scanned = () => size;
    } catch (e) {
      if (x.state === 'CANCELLED') return;
      x.state = 'FAILED';
      x.reason = (e as Error).message;
    } finally {
      x.completed ??= Date.now();
      const at = x.scanned();
      x.scanned = () => at;
      release(lake);
    }
  };

  const view = (x: Execution) => ({
    QueryExecutionId: x.id,
    Query: x.query,
    StatementType: 'DML',
    WorkGroup: x.workgroup,
    QueryExecutionContext: x.database ? { Database: x.database } : {},
    Status: {
      State: x.state,
      SubmissionDateTime: x.submitted / 1000,
      ...(x.completed ? { CompletionDateTime: x.completed / 1000 } : {}),
      ...(x.reason ? { StateChangeReason: x.reason } : {}),
      ...(x.state === 'FAILED' ? { AthenaError: { ErrorCategory: 2, ErrorType: 1000, Retryable: false, ErrorMessage: x.reason ?? 'failed' } } : {}),
    },
    Statistics: {
      DataScannedInBytes: x.scanned(),
      QueryQueueTimeInMillis: (x.started ?? x.completed ?? Date.now()) - x.submitted,
      ...(x.started ? { EngineExecutionTimeInMillis: (x.completed ?? Date.now()) - x.started } : {}),
      ...(x.completed ? { TotalExecutionTimeInMillis: x.completed - x.submitted } : {}),
    },
  });

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    StartQueryExecution(body) {
      const query = body.QueryString;
      if (typeof query !== 'string' || !query.trim() || Buffer.byteLength(query) > MAX_QUERY_BYTES)
        throw new AwsError('InvalidRequestException', `QueryString must be 1 to ${MAX_QUERY_BYTES} bytes`);
      const workgroup = typeof body.WorkGroup === 'string' ? body.WorkGroup : 'primary';
      if (!opts.workgroups.includes(workgroup)) throw new AwsError('InvalidRequestException', `WorkGroup ${workgroup} is not found.`);
      const ctx = body.QueryExecutionContext;
      const database = isPlainObject(ctx) && typeof ctx.Database === 'string' ? ctx.Database : undefined;
      const x: Execution = {
        id: randomUUID(),
        query,
        workgroup,
        database,
        state: 'QUEUED',
        submitted: Date.now(),
        scanned: () => 0,
        abort: new AbortController(),
      };
      executions.set(x.id, x);
      for (const old of [...executions.keys()].slice(0, Math.max(0, executions.size - KEEP))) executions.delete(old);
      queue.push(x);
      pump();
      return { QueryExecutionId: x.id };
    },
    GetQueryExecution(body) {
      return { QueryExecution: view(find(body)) };
    },
    GetQueryResults(body) {
      const x = find(body);
      if (x.state !== 'SUCCEEDED' || !x.result) {
        throw new AwsError(
          'InvalidRequestException',
          x.state === 'FAILED' || x.state === 'CANCELLED'
            ? `Query did not finish successfully. Final query state: ${x.state}`
            : `Query has not yet finished. Current state: ${x.state}`,
        );
      }
      const max = body.MaxResults === undefined ? 1000 : Number(body.MaxResults);
      if (!Number.isInteger(max) || max < 1 || max > 1000) throw new AwsError('InvalidRequestException', 'MaxResults must be from 1 to 1000');
      const r = x.result;
      const header = { Data: r.columns.map((c) => ({ VarCharValue: c.name })) };
      const all = [header, ...r.rows.map((row) => ({ Data: row.map(text) }))];
      const from = typeof body.NextToken === 'string' ? Number(Buffer.from(body.NextToken, 'base64url').toString('utf8')) : 0;
      if (!Number.isInteger(from) || from < 0 || from > all.length) throw new AwsError('InvalidRequestException', 'NextToken is not valid');
      const page = all.slice(from, from + max);
      const next = from + max < all.length ? Buffer.from(String(from + max), 'utf8').toString('base64url') : undefined;
      return {
        ResultSet: {
          Rows: page,
          ResultSetMetadata: {
            ColumnInfo: r.columns.map((c) => ({
              CatalogName: 'hive',
              SchemaName: '',
              TableName: '',
              Name: c.name,
              Label: c.name,
              Type: athenaType(c.type),
              Nullable: 'UNKNOWN',
            })),
          },
        },
        UpdateCount: 0,
        ...(next ? { NextToken: next } : {}),
      };
    },
    StopQueryExecution(body) {
      const x = find(body);
      if (x.state === 'QUEUED' || x.state === 'RUNNING') {
        x.state = 'CANCELLED';
        x.reason = 'Query cancelled by user';
        x.completed = Date.now();
        x.abort.abort();
      }
      return {};
    },
  };

  const { endpoint, close: closeServer } = await serveAwsJson(
    { target: 'AmazonAthena', name: 'Athena', logAs: 'athena', maxBody: MAX_BODY, internalError: 'InternalServerException', operations },
    opts.port,
  );
  log('info', 'athena.started', { endpoint });
  const active = () => [...executions.values()].filter((x) => x.state === 'QUEUED' || x.state === 'RUNNING');
  return {
    endpoint,
    counts() {
      const out: Record<string, number> = {};
      for (const x of executions.values()) out[x.state] = (out[x.state] ?? 0) + 1;
      return out;
    },
    async close() {
      closed = true;
      for (const x of active()) {
        x.state = 'CANCELLED';
        x.abort.abort();
      }
      queue.length = 0;
      await closeServer();
      for (const lake of idleLakes.splice(0)) lake.close();
      // Lakes still opening close themselves (closed is set).
      await Promise.all(warming.splice(0));
    },
  };
}
