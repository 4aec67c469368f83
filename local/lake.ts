/**
 * SQL over the local lake with DuckDB (embedded, in-process, no extensions): the engine of
 * `npx cairn sql|report` on a local stack and of the local twin's Athena (local/athena/).
 *
 * Locally the lake is the S3 bucket `cairn-lake` served by s3rver, which keeps every object on disk
 * as `<dataDir>/s3/cairn-lake/<key>._S3rver_object` (metadata beside it). Lake objects are gzip
 * JSON Lines under Hive-style partitions (`events/dt=YYYY-MM-DD/<shard>-<seq>.json.gz`), so DuckDB
 * reads those files directly and exposes the views `events`, `quarantine`, `profiles`, `audit` and `journey_steps`, with the
 * columns of shared/message/types.ts (`LakeEventRow`, `LakeQuarantineRow`) plus the partition column
 * `dt`. Nested objects are DuckDB `JSON`, so `properties->>'total'` works whether the writer stored
 * them as objects or as JSON text. An empty lake answers with zero rows.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  DuckDBInstance,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBConnection,
  type DuckDBValueConverter,
} from '@duckdb/node-api';
import { CairnError } from '#shared/errors';
import { LAKE } from '#shared/config';
import type { Cell, Column, QueryResult } from '#shared/reports';

export { rowObjects, type Cell, type Column, type QueryResult } from '#shared/reports';

type ColType = 'VARCHAR' | 'JSON' | 'TIMESTAMPTZ' | 'INTEGER';
interface TableSpec {
  prefix: string;
  columns: [string, ColType][];
}

/** The lake tables and their columns (order as shown by `select *`); `dt` is appended. */
export const LAKE_TABLES: Record<'events' | 'quarantine' | 'profiles' | 'audit' | 'journey_steps', TableSpec> = {
  events: {
    prefix: LAKE.eventsPrefix,
    columns: [
      ['message_id', 'VARCHAR'],
      ['type', 'VARCHAR'],
      ['event', 'VARCHAR'],
      ['name', 'VARCHAR'],
      ['category', 'VARCHAR'],
      ['user_id', 'VARCHAR'],
      ['anonymous_id', 'VARCHAR'],
      ['group_id', 'VARCHAR'],
      ['previous_id', 'VARCHAR'],
      ['timestamp', 'TIMESTAMPTZ'],
      ['original_timestamp', 'VARCHAR'],
      ['sent_at', 'VARCHAR'],
      ['received_at', 'TIMESTAMPTZ'],
      ['properties', 'JSON'],
      ['traits', 'JSON'],
      ['context', 'JSON'],
      ['source_id', 'VARCHAR'],
    ],
  },
  quarantine: {
    prefix: LAKE.quarantinePrefix,
    columns: [
      ['message_id', 'VARCHAR'],
      ['code', 'VARCHAR'],
      ['reason', 'VARCHAR'],
      ['message', 'JSON'],
      ['received_at', 'TIMESTAMPTZ'],
      ['source_id', 'VARCHAR'],
      ['stage', 'VARCHAR'],
    ],
  },
  profiles: {
    prefix: LAKE.profilesPrefix,
    columns: [
      ['profile_id', 'VARCHAR'],
      ['identities', 'JSON'],
      ['traits', 'JSON'],
      ['computed', 'JSON'],
      ['segments', 'JSON'],
      ['consent', 'JSON'],
      ['merged_from', 'JSON'],
      ['merged_into', 'VARCHAR'],
      ['created_at', 'TIMESTAMPTZ'],
      ['updated_at', 'TIMESTAMPTZ'],
      ['snapshot_at', 'TIMESTAMPTZ'],
      ['snapshot_kind', 'VARCHAR'],
    ],
  },
  /** Audited admin requests (shared/admin/audit.ts `LakeAuditRow`, docs/security.md#audit-log). */
  audit: {
    prefix: LAKE.auditPrefix,
    columns: [
      ['at', 'TIMESTAMPTZ'],
      ['request_id', 'VARCHAR'],
      ['actor', 'VARCHAR'],
      ['action', 'VARCHAR'],
      ['target', 'VARCHAR'],
      ['status', 'INTEGER'],
      ['code', 'VARCHAR'],
    ],
  },
  /** Journey step outcomes per run and version (shared/journeys/steps.ts `LakeJourneyStepRow`, docs/journeys.md#the-lake). */
  journey_steps: {
    prefix: LAKE.journeyStepsPrefix,
    columns: [
      ['at', 'TIMESTAMPTZ'],
      ['journey_id', 'VARCHAR'],
      ['version', 'INTEGER'],
      ['run_id', 'VARCHAR'],
      ['profile_id', 'VARCHAR'],
      ['step_id', 'VARCHAR'],
      ['action', 'VARCHAR'],
      ['outcome', 'VARCHAR'],
      ['reason', 'VARCHAR'],
    ],
  },
};

const OBJECT_SUFFIX = '._S3rver_object';

/** Directory holding the local lake bucket's objects. */
export const localLakeDir = (dataDir: string): string => join(dataDir, 's3', LAKE.localBucket);

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** True when at least one lake object exists under `dir` (stops at the first one). */
function hasObjects(dir: string): boolean {
  if (!existsSync(dir)) return false;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) stack.push(join(d, e.name));
      else if (e.name.endsWith(OBJECT_SUFFIX)) return true;
    }
  }
  return false;
}

/** The `SELECT` a view is defined as: over the files when there are some, else an empty typed relation. */
export function viewSql(lakeDir: string, table: keyof typeof LAKE_TABLES): string {
  const spec = LAKE_TABLES[table];
  const dir = join(lakeDir, spec.prefix);
  if (!hasObjects(dir)) {
    const cols = spec.columns.map(([c, t]) => `NULL::${t} AS "${c}"`).join(', ');
    return `SELECT * FROM (SELECT ${cols}, NULL::VARCHAR AS dt) WHERE false`;
  }
  // Timestamps are read as text and cast leniently, so one odd value cannot fail a whole query.
  const readCols = spec.columns.map(([c, t]) => `"${c}": '${t === 'TIMESTAMPTZ' ? 'VARCHAR' : t}'`).join(', ');
  const project = spec.columns
    .map(([c, t]) => {
      const q = `"${c}"`;
      if (t === 'TIMESTAMPTZ') return `try_cast(${q} AS TIMESTAMPTZ) AS ${q}`;
      // A nested object stored as JSON text arrives as a JSON string: unwrap it.
      if (t === 'JSON') return `CASE WHEN json_type(${q}) = 'VARCHAR' THEN coalesce(try_cast(${q}->>'$' AS JSON), ${q}) ELSE ${q} END AS ${q}`;
      return q;
    })
    .join(', ');
  const glob = join(dir, '**', `*${OBJECT_SUFFIX}`);
  return (
    `SELECT ${project}, dt FROM read_json(${sqlString(glob)}, columns={${readCols}}, compression='gzip', ` +
    `format='newline_delimited', hive_partitioning=true, hive_types={'dt': 'VARCHAR'}, union_by_name=true)`
  );
}

const safeBig = (v: bigint): number | string => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString());

function isoFromMicros(micros: bigint): string | null {
  const ms = Number(micros / 1000n);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** DuckDB values → JSON-safe cells. */
const toCell: DuckDBValueConverter<Cell> = (value, type, converter) => {
  if (value == null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return typeof value === 'bigint' ? safeBig(value) : String(value);
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP:
      if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
        return value.isFinite ? (isoFromMicros(value.micros) ?? value.toString()) : value.toString();
      }
      return String(value);
    case DuckDBTypeId.DECIMAL: {
      const s = String(value);
      const n = Number(s);
      return s.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15 && Number.isFinite(n) ? n : s;
    }
    default:
      return JsonDuckDBValueConverter(value, type, converter as DuckDBValueConverter<Cell>) as Cell;
  }
};

const TRANSIENT = /gzip|decompress|no files found|could not open|no such file|unexpected end|truncat/i;

/** An open lake: reuse it for many queries, one at a time (views follow files that appear later). */
export interface LocalLake {
  /** Runs `sql`; an aborted `signal` interrupts it (`sql_cancelled`). */
  query(sql: string, opts?: { signal?: AbortSignal }): Promise<QueryResult>;
  /** DuckDB's estimate of how much of the running query is done, 0 to 1 (undefined when it has none). */
  progress(): number | undefined;
  close(): void;
}

export async function openLocalLake(dataDir: string): Promise<LocalLake> {
  const lakeDir = localLakeDir(dataDir);
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn: DuckDBConnection = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  // Progress is measured (for the local Athena's progress), never printed.
  await conn.run('SET enable_progress_bar = true');
  await conn.run('SET enable_progress_bar_print = false');
  const defined = new Map<string, string>();
  return {
    progress() {
      const p = conn.progress.percentage;
      return p >= 0 ? Math.min(1, p / 100) : undefined;
    },
    async query(sql: string, opts: { signal?: AbortSignal } = {}): Promise<QueryResult> {
      const interrupt = () => conn.interrupt();
      opts.signal?.addEventListener('abort', interrupt, { once: true });
      try {
        return await run(sql, opts.signal);
      } finally {
        opts.signal?.removeEventListener('abort', interrupt);
      }
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };

  async function run(sql: string, signal: AbortSignal | undefined): Promise<QueryResult> {
    let reader: Awaited<ReturnType<typeof conn.runAndReadAll>>;
    for (let attempt = 0; ; attempt++) {
      for (const t of Object.keys(LAKE_TABLES) as (keyof typeof LAKE_TABLES)[]) {
        const def = viewSql(lakeDir, t);
        if (defined.get(t) !== def) {
          await conn.run(`CREATE OR REPLACE VIEW ${t} AS ${def}`);
          defined.set(t, def);
        }
      }
      try {
        if (signal?.aborted) throw new CairnError('sql_cancelled', 'query cancelled', 408);
        reader = await conn.runAndReadAll(sql);
        break;
      } catch (e) {
        if (signal?.aborted) throw new CairnError('sql_cancelled', 'query cancelled', 408);
        const msg = (e as Error).message;
        // The running stack may be writing (s3rver writes in place) or replacing an object right now.
        if (attempt < 2 && TRANSIENT.test(msg)) {
          await new Promise((r) => setTimeout(r, 150));
          continue;
        }
        throw new CairnError('sql_error', firstLine(msg), 400);
      }
    }
    const columns: Column[] = reader.columnNames().map((name, i) => ({
      name,
      type: reader.columnLogicalType(i).alias ?? reader.columnType(i).toString(),
    }));
    return { columns, rows: reader.convertRows(toCell) as Cell[][] };
  }
}

/** Runs one SQL statement over the local lake under `dataDir` (the stack's CAIRN_DATA_DIR). */
export async function queryLocalLake(dataDir: string, sql: string): Promise<QueryResult> {
  const lake = await openLocalLake(dataDir);
  try {
    return await lake.query(sql);
  } finally {
    lake.close();
  }
}

/** DuckDB errors span lines (with a caret under the SQL): keep the reason, on one line. */
function firstLine(msg: string): string {
  return (
    msg
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)[0] ?? msg
  );
}
