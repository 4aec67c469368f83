/**
 * The admin API's lake queries (shared/reports/queries.ts, routes.ts; docs/api.md#lake-queries) over an
 * engine held in memory: start → poll → result, progress, cancel, what is refused, and that only the
 * executions started by the route are answered. The engine over a real lake is in
 * tests/integration/lake-queries.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { apiGatewayEventFor } from '#local/apigw';
import { AdminRouter } from '#shared/http';
import {
  catalogueSql,
  headerOf,
  lakeQuerySql,
  MAX_RESULT_ROWS,
  parseQueryRequest,
  registerLakeQueryRoutes,
  withHeader,
  type LakeEngine,
  type LakeExecution,
  type QueryResult,
} from '#shared/reports';
import { walkSteps, validateDefinition, type JourneyDef } from '#shared/definitions';

class MemoryEngine implements LakeEngine {
  readonly dialect = 'duckdb' as const;
  readonly runs = new Map<string, LakeExecution & { result?: QueryResult }>();
  stopped: string[] = [];
  private n = 0;
  /** What the next query answers. */
  next: QueryResult = { columns: [{ name: 'n', type: 'BIGINT' }], rows: [[1]] };
  async start(sql: string) {
    const id = `00000000-0000-4000-8000-${String(++this.n).padStart(12, '0')}`;
    this.runs.set(id, { state: 'running', sql, elapsedMs: 120, scannedBytes: 4096, result: this.next });
    return id;
  }
  async get(id: string) {
    const r = this.runs.get(id);
    return r ? { ...r } : null;
  }
  async results(id: string, maxRows: number) {
    const r = this.runs.get(id)!.result!;
    return { result: { columns: r.columns, rows: r.rows.slice(0, maxRows) }, truncated: r.rows.length > maxRows };
  }
  async stop(id: string) {
    this.stopped.push(id);
    const r = this.runs.get(id)!;
    r.state = 'cancelled';
    r.reason = 'Query cancelled by user';
  }
  finish(id: string) {
    this.runs.get(id)!.state = 'succeeded';
  }
}

const COUPON = validateDefinition(
  {
    kind: 'journey',
    id: 'welcome-coupon',
    trigger: { event: 'Signed Up' },
    holdout: '10%',
    consent: 'none',
    steps: [
      { id: 'coupon', action: 'coupon', pool: 'welcome' },
      { wait: '1d' },
      { id: 'mail', action: 'email', subject: 'Hi', body: 'Your code {{ coupon.code }}' },
    ],
  },
  { file: 'test', index: 0 },
) as JourneyDef;

function setup(engine: LakeEngine | null = new MemoryEngine()) {
  const router = registerLakeQueryRoutes(new AdminRouter(), {
    engine,
    journey: async (id) => (id === COUPON.id ? COUPON : null),
    journeyStats: async () => ({ entered: 9, held_out: 1, steps: { coupon: { sent: 8, redeemed: 3 }, mail: { sent: 8 } } }),
    today: () => '2024-07-17',
    now: () => Date.parse('2024-07-17T12:00:00Z'),
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await router.handle(
      apiGatewayEventFor(method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    );
    return { status: r.statusCode!, json: JSON.parse(String(r.body ?? 'null')), headers: r.headers ?? {} };
  };
  return { router, call, engine: engine as MemoryEngine };
}

describe('lake query routes', () => {
  it('start answers 202 at once with the id; polling shows progress, then the result', async () => {
    const { call, engine } = setup();
    const started = await call('POST', '/v1/lake/queries', { query: 'catalogue', options: { since: '2024-07-01' } });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ query: 'catalogue', state: 'queued', options: { since: '2024-07-01' } });
    expect(started.json.statusUrl).toBe(`/v1/lake/queries/${started.json.id}`);
    expect(started.headers.location).toBe(started.json.statusUrl);
    // The statement carries the query it was started for, and is the catalogue's SQL for the engine's dialect.
    const sql = engine.runs.get(started.json.id)!.sql;
    expect(headerOf(sql)).toEqual({ query: 'catalogue', options: { since: '2024-07-01' } });
    expect(sql.endsWith(catalogueSql({ since: '2024-07-01' }, 'duckdb'))).toBe(true);

    const running = await call('GET', started.json.statusUrl);
    expect(running.json).toMatchObject({ state: 'running', progress: { elapsedMs: 120, scannedBytes: 4096 } });
    expect(running.json.result).toBeUndefined();

    engine.finish(started.json.id);
    const done = await call('GET', started.json.statusUrl);
    expect(done.json).toMatchObject({ state: 'succeeded', result: { columns: [{ name: 'n', type: 'BIGINT' }], rows: [[1]], truncated: false } });
  });

  it('cuts a large result at MAX_RESULT_ROWS and says so', async () => {
    const { call, engine } = setup();
    engine.next = { columns: [{ name: 'i', type: 'INTEGER' }], rows: Array.from({ length: MAX_RESULT_ROWS + 3 }, (_, i) => [i]) };
    const s = await call('POST', '/v1/lake/queries', { query: 'rfm', options: { people: true } });
    engine.finish(s.json.id);
    const done = await call('GET', s.json.statusUrl);
    expect(done.json.result.rows).toHaveLength(MAX_RESULT_ROWS);
    expect(done.json.result.truncated).toBe(true);
  });

  it('cancel stops a running query; a finished one keeps its state', async () => {
    const { call, engine } = setup();
    const a = await call('POST', '/v1/lake/queries', { query: 'quarantine' });
    const cancelled = await call('DELETE', a.json.statusUrl);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ id: a.json.id, state: 'cancelled', reason: 'Query cancelled by user' });
    expect(engine.stopped).toEqual([a.json.id]);

    const b = await call('POST', '/v1/lake/queries', { query: 'quarantine' });
    engine.finish(b.json.id);
    expect((await call('DELETE', b.json.statusUrl)).json.state).toBe('succeeded');
    expect(engine.stopped).toEqual([a.json.id]);
  });

  it('answers only for executions it started: another query of the workgroup is 404', async () => {
    const { call, engine } = setup();
    const id = await engine.start('SELECT * FROM audit');
    expect((await call('GET', `/v1/lake/queries/${id}`)).json.error.code).toBe('lake_query_not_found');
    expect((await call('DELETE', `/v1/lake/queries/${id}`)).status).toBe(404);
    expect(engine.stopped).toEqual([]);
    expect((await call('GET', '/v1/lake/queries/nope')).status).toBe(404);
    // A forged header naming no known query is not one either.
    const forged = await engine.start(`-- cairn-lake-query: {"query":"everything","options":{}}\nSELECT 1`);
    expect((await call('GET', `/v1/lake/queries/${forged}`)).status).toBe(404);
  });

  it('refuses unknown queries, options and values before anything runs, naming the option as the API spells it', async () => {
    const { call, engine } = setup();
    const refused = async (body: unknown) => {
      const r = await call('POST', '/v1/lake/queries', body);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_lake_query');
      return r.json.error.message as string;
    };
    expect(await refused({ query: 'everything' })).toMatch(/query must be one of funnel, rfm/);
    expect(await refused({ query: 'funnel' })).toMatch(/funnel needs steps/);
    expect(await refused({ query: 'funnel', options: { steps: 'A,B', colour: 'red' } })).toMatch(/takes no option "colour"/);
    expect(await refused({ query: 'retention', options: { weeks: 3 } })).toMatch(/weeks must be a string/);
    expect(await refused({ query: 'retention', options: { profilesSince: '2024-13-01' } })).toMatch(/profilesSince must be a date/);
    expect(await refused({ query: 'catalogue', options: { since: '2024-07-02', until: '2024-07-01' } })).toMatch(/after until/);
    expect(await refused({ query: 'quarantine-rows', options: { code: "x' OR 1=1 --" } })).toMatch(/code must be an error code/);
    expect(await refused({ query: 'quarantine-rows', options: { limit: '5000' } })).toMatch(/limit must be/);
    expect(await refused({ query: 'throughput', options: { hours: '100' } })).toMatch(/hours must be/);
    expect(await refused({ query: 'journey' })).toMatch(/needs "journey"/);
    expect(await refused({ query: 'funnel', journey: 'x', options: { steps: 'A' } })).toMatch(/only the journey report/);
    expect(await refused([])).toMatch(/body must be a JSON object/);
    expect(engine.runs.size).toBe(0);
    const missing = await call('POST', '/v1/lake/queries', { query: 'journey', journey: 'no-such' });
    expect([missing.status, missing.json.error.code]).toEqual([404, 'journey_not_found']);
  });

  it('runs the journey report with its lift interval and the runtime counters added to the rows', async () => {
    const { call, engine } = setup();
    engine.next = {
      columns: ['section', 'item', 'people', 'converted', 'conversion_pct'].map((name) => ({
        name,
        type: name === 'section' || name === 'item' ? 'VARCHAR' : 'BIGINT',
      })),
      rows: [
        ['groups', 'treated', 8, 4, 50],
        ['groups', 'holdout', 1, 0, 0],
        ['lift', 'treated_minus_holdout', null, null, 50],
      ],
    };
    const s = await call('POST', '/v1/lake/queries', { query: 'journey', journey: 'welcome-coupon', options: { since: '2024-07-01', until: '2024-07-17' } });
    expect(s.status).toBe(202);
    expect(engine.runs.get(s.json.id)!.sql).toContain("'Order Completed'");
    engine.finish(s.json.id);
    const rows = (await call('GET', s.json.statusUrl)).json.result.rows as unknown[][];
    expect(rows).toContainEqual(['runtime', 'entered', 9, null, null]);
    expect(rows).toContainEqual(['runtime', 'coupon (coupon) issued', 8, 3, 37.5]);
    expect(rows).toContainEqual(['runtime', 'mail (email) sent', 8, null, null]);
    expect(walkSteps(COUPON.steps)).toHaveLength(3);
  });

  it('answers 503 lake_unavailable where the stack gives no engine', async () => {
    const { call } = setup(null);
    const r = await call('POST', '/v1/lake/queries', { query: 'catalogue' });
    expect([r.status, r.json.error.code]).toEqual([503, 'lake_unavailable']);
  });
});

describe('lake query statements', () => {
  it('the header round-trips and holds no line break, whatever the options hold', () => {
    const h = parseQueryRequest({ query: 'funnel', options: { steps: 'A\n-- DROP,B */', within: '7d' } });
    const sql = withHeader(h, 'SELECT 1');
    expect(sql.split('\n')).toHaveLength(2);
    expect(headerOf(sql)).toEqual(h);
  });

  it('each data query builds for both dialects; throughput starts its window `hours` before now', () => {
    for (const d of ['duckdb', 'athena'] as const)
      for (const q of ['catalogue', 'quarantine', 'quarantine-rows', 'privacy-requests', 'throughput', 'segment-sizes'] as const)
        expect(lakeQuerySql(q, { since: '2024-07-01', segment: 'vip' }, d, Date.parse('2024-07-17T12:00:00Z'))).toMatch(/^(WITH|SELECT)/);
    const t = lakeQuerySql('throughput', { hours: '2' }, 'athena', Date.parse('2024-07-17T12:00:00Z'));
    expect(t).toContain("TIMESTAMP '2024-07-17 10:00:00'");
    expect(t).toContain("dt >= '2024-07-17'");
    expect(lakeQuerySql('catalogue', {}, 'athena')).toContain('map_keys(try(CAST(json_parse(props) AS MAP(VARCHAR, JSON))))');
  });

  it('segment-sizes: the daily snapshots of the last 90 days by default, live profiles only, the segment named as a literal', () => {
    const now = Date.parse('2024-07-17T12:00:00Z');
    const sql = lakeQuerySql('segment-sizes', { segment: 'vip' }, 'duckdb', now);
    expect(sql).toContain("snapshot_kind = 'daily'");
    expect(sql).toContain('merged_into IS NULL');
    // 90 days ending today: only those partitions are read.
    expect(sql).toContain("dt >= '2024-04-19' AND dt <= '2024-07-17'");
    expect(sql).toContain(`list_contains(from_json(segments, '["VARCHAR"]'), 'vip')`);
    expect(lakeQuerySql('segment-sizes', { segment: 'vip', since: '2024-07-01', until: '2024-07-10' }, 'athena', now)).toContain(
      "contains(try(CAST(json_parse(segments) AS ARRAY(VARCHAR))), 'vip')",
    );
    expect(parseQueryRequest({ query: 'segment-sizes', options: { segment: 'vip', since: '2024-07-01' } }).options).toEqual({
      segment: 'vip',
      since: '2024-07-01',
    });
    // No segment, or one no definition could be named (a quote, a space): refused before anything runs.
    for (const segment of [undefined, '', "vip' OR '1'='1", 'a b'])
      expect(() => lakeQuerySql('segment-sizes', segment === undefined ? {} : { segment }, 'duckdb', now)).toThrow(/segment-sizes needs the segment's id/);
  });
});
