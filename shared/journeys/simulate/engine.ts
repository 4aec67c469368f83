/**
 * The simulation's reads through the admin API's lake engine: an engine on Athena's model (start an
 * execution, poll it, read its rows) — Athena on AWS; locally the same API answered over DuckDB — as
 * one awaited SELECT. Only the calls the simulation needs are named here.
 */
import { CairnError } from '../../errors';
import type { LakeQuery, LakeRows } from './history';

export interface LakeEngineLike {
  start(sql: string): Promise<string>;
  get(id: string): Promise<{ state: string; reason?: string } | null>;
  results(id: string, maxRows: number): Promise<{ result: LakeRows; truncated: boolean }>;
  /** Cancels an execution still running (a query given up on should not go on scanning). */
  stop?(id: string): Promise<void>;
}

export interface EngineQueryOptions {
  /** Rows read at most per statement (the simulation asks for its limit + 1). */
  maxRows: number;
  /** Give up once this long (ms) has passed since the first statement started: an API request has one deadline for all its reads. */
  timeoutMs: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export function lakeEngineQuery(engine: LakeEngineLike, o: EngineQueryOptions): LakeQuery {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  let deadline: number | undefined;
  return async (sql) => {
    deadline ??= now() + o.timeoutMs;
    const id = await engine.start(sql);
    for (let wait = o.pollMs ?? 100; ; wait = Math.min(wait * 2, 2_000)) {
      const x = await engine.get(id);
      if (x?.state === 'succeeded') break;
      if (!x || x.state === 'failed' || x.state === 'cancelled')
        throw new CairnError('lake_query_failed', `the lake query ${x?.state ?? 'vanished'}${x?.reason ? `: ${x.reason}` : ''}`, 502);
      if (now() >= deadline) {
        await engine.stop?.(id).catch(() => {});
        throw new CairnError(
          'simulation_timeout',
          `the lake did not answer within ${Math.round(o.timeoutMs / 1000)} s: simulate a shorter window, or use npx cairn journey simulate --stack`,
          504,
        );
      }
      // Never sleep past the deadline: the function's timeout follows it closely.
      await sleep(Math.min(wait, Math.max(0, deadline - now())));
    }
    return (await engine.results(id, o.maxRows)).result;
  };
}
