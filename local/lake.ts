/**
 * SQL over the local lake with DuckDB (embedded, in-process, no extensions): the engine of
 * `npx cairn sql|report` on a local stack and of the local twin's Athena (local/athena/).
 *
 * Locally the lake is the S3 bucket `cairn-lake` served by s3rver, which keeps every object on disk
 * as `<dataDir>/s3/cairn-lake/<key>._S3rver_object` (metadata beside it). Lake objects are gzip
 * JSON Lines under Hive-style partitions (`events/dt=YYYY-MM-DD/<shard>-<seq>.json.gz`) and the
 * Parquet parts of compacted days (`parquet/events/…`), so DuckDB reads those files directly and
 * exposes the views `events` (both formats, docs/lake.md#compaction), `quarantine`, `profiles`,
 * `audit` and `journey_steps`, with the
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
  /** Storage format of the objects (default gzip JSON Lines). */
  format?: 'json' | 'parquet';
}

const EVENT_COLUMNS: [string, ColType][] = [
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
];

/**
 * The lake tables and their columns (order as shown by `select *`); `dt` is appended. As in Glue
 * (infra/constructs/lake-schema.ts): `events` is the view EVENTS_VIEW over the three `events_*`.
 */
export const LAKE_TABLES: Record<'events_json' | 'events_parquet' | 'events_compaction' | 'quarantine' | 'profiles' | 'audit' | 'journey_steps', TableSpec> = {
  /** What normalize writes (gzip JSON Lines). */
  events_json: { prefix: LAKE.eventsPrefix, columns: EVENT_COLUMNS },
  /** Compacted days' parts (docs/lake.md#compaction). */
  events_parquet: { prefix: LAKE.parquetEventsPrefix, columns: EVENT_COLUMNS, format: 'parquet' },
  /** The manifests of compacted days (shared/lake/compaction.ts `ManifestRow`). */
  events_compaction: {
    prefix: LAKE.compactionManifestsPrefix,
    columns: [
      ['role', 'VARCHAR'],
      ['key', 'VARCHAR'],
      ['rows', 'INTEGER'],
      ['etag', 'VARCHAR'],
      ['written_at', 'VARCHAR'],
      ['tagged_at', 'VARCHAR'],
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

/** The views a local lake defines: the tables, then `events` over them. */
export type LakeView = keyof typeof LAKE_TABLES | 'events';
export const LAKE_VIEWS: readonly LakeView[] = [...(Object.keys(LAKE_TABLES) as (keyof typeof LAKE_TABLES)[]), 'events'];

/** Column `KEY_COLUMN` of tableSql(…, true): the lake key of the object a row was read from (Athena's `"$path"` without `s3://<bucket>/`). */
const KEY_COLUMN = '__key';

/**
 * The `SELECT` over a table's files when there are some, else an empty typed relation. With
 * `withKey`, each row also carries KEY_COLUMN.
 */
function tableSql(lakeDir: string, table: keyof typeof LAKE_TABLES, withKey = false): string {
  const spec = LAKE_TABLES[table];
  const dir = join(lakeDir, spec.prefix);
  if (!hasObjects(dir)) {
    const cols = spec.columns.map(([c, t]) => `NULL::${t} AS "${c}"`).join(', ');
    return `SELECT * FROM (SELECT ${cols}, NULL::VARCHAR AS dt${withKey ? `, NULL::VARCHAR AS ${KEY_COLUMN}` : ''}) WHERE false`;
  }
  const parquet = spec.format === 'parquet';
  const project = spec.columns
    .map(([c, t]) => {
      const q = `"${c}"`;
      // Timestamps are read as text and cast leniently, so one odd value cannot fail a whole query.
      if (t === 'TIMESTAMPTZ') return `try_cast(${q} AS TIMESTAMPTZ) AS ${q}`;
      // Parquet holds nested objects as JSON text (a string column).
      if (t === 'JSON' && parquet) return `try_cast(${q} AS JSON) AS ${q}`;
      // A nested object stored as JSON text arrives as a JSON string: unwrap it.
      if (t === 'JSON') return `CASE WHEN json_type(${q}) = 'VARCHAR' THEN coalesce(try_cast(${q}->>'$' AS JSON), ${q}) ELSE ${q} END AS ${q}`;
      return q;
    })
    .join(', ');
  const glob = sqlString(join(dir, '**', `*${OBJECT_SUFFIX}`));
  const key = withKey ? `, replace(substr(filename, ${lakeDir.length + 2}), ${sqlString(OBJECT_SUFFIX)}, '') AS ${KEY_COLUMN}` : '';
  if (parquet) {
    const cast = spec.columns.map(([c]) => `CAST("${c}" AS VARCHAR) AS "${c}"`).join(', ');
    return (
      `SELECT ${project}, dt${key} FROM (SELECT ${cast}, dt, filename FROM read_parquet(${glob}, hive_partitioning=true, hive_types={'dt': 'VARCHAR'}, ` +
      `union_by_name=true, filename=true))`
    );
  }
  const readCols = spec.columns.map(([c, t]) => `"${c}": '${t === 'TIMESTAMPTZ' ? 'VARCHAR' : t}'`).join(', ');
  return (
    `SELECT ${project}, dt${key} FROM read_json(${glob}, columns={${readCols}}, compression='gzip', ` +
    `format='newline_delimited', hive_partitioning=true, hive_types={'dt': 'VARCHAR'}, union_by_name=true, filename=true)`
  );
}

/**
 * The `events` view: the rows of the parts a manifest publishes, and the rows of the events/ objects
 * no manifest names (docs/lake.md#compaction) — the Glue view of infra/constructs/lake-schema.ts
 * `eventsViewSql`, in DuckDB, with a file's key from its path instead of Athena's `"$path"`.
 */
function eventsViewSql(lakeDir: string): string {
  const cols = EVENT_COLUMNS.map(([c]) => `"${c}"`).join(', ');
  const manifests = tableSql(lakeDir, 'events_compaction');
  const named = (alias: string, role: 'part' | 'source') =>
    `SELECT 1 FROM (${manifests}) m WHERE m.dt = ${alias}.dt AND m.role = '${role}' AND m.key = ${alias}.${KEY_COLUMN}`;
  return (
    `SELECT ${cols}, p.dt FROM (${tableSql(lakeDir, 'events_parquet', true)}) p WHERE EXISTS (${named('p', 'part')}) ` +
    `UNION ALL ` +
    `SELECT ${cols}, j.dt FROM (${tableSql(lakeDir, 'events_json', true)}) j WHERE NOT EXISTS (${named('j', 'source')})`
  );
}

/** The `SELECT` a view is defined as. */
export function viewSql(lakeDir: string, view: LakeView): string {
  return view === 'events' ? eventsViewSql(lakeDir) : tableSql(lakeDir, view);
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
      for (const t of LAKE_VIEWS) {
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
