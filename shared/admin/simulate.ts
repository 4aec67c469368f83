/**
 * `POST /v1/journeys/simulate` (docs/journeys.md#simulation, docs/api.md): a dry run of a journey over
 * the lake's history — a document not applied yet (`journey`), or an applied journey (`id`, its current
 * version) — governed by the applied policy, nothing sent. Body:
 *
 *   { "journey": { …a journey document… } | "id": "<journey id>", "since": "30d", "sample": 3 }
 *
 * The lake is read through the admin API's lake engine (Athena on AWS; locally the same API over
 * DuckDB); without one the route answers 503 `lake_unavailable`. The answer is the simulation's
 * report (shared/journeys/simulate/report.ts). Audited (`journey.simulated`): it renders messages
 * with people's data.
 */
import { CairnError } from '../errors';
import { parseDuration, POLICY_ID, validateDefinition, walkSteps, type JourneyDef, type PolicyDef } from '../definitions';
import { getJourneyHead } from '../definitions/dynamo-versions';
import { getDefinition, listDefinitions } from '../definitions/store';
import type { CouponStore } from '../coupons';
import type { AdminRouter } from '../http';
import {
  asApplied,
  HISTORY_LIMITS,
  lakeEngineQuery,
  simulateFromLake,
  SIMULATION_DEFAULTS,
  transactionalSteps,
  type AppliedJourney,
  type LakeEngineLike,
} from '../journeys';

export interface SimulateRouteDeps {
  definitionsTable: string;
  coupons: CouponStore;
  /** The lake's query engine; null or absent: the route answers 503 `lake_unavailable`. */
  lake?: LakeEngineLike | null;
  /** How long the route waits for the lake, its reads together (ms): within the function's timeout (default 25 s, under API Gateway's 30 s). */
  simulationTimeoutMs?: number;
}

const usage = (msg: string) => new CairnError('invalid_body', msg, 400);

/** Codes left in each pool the journey's coupon steps take from (a pool never loaded: 0). */
export async function poolsLeft(coupons: CouponStore, def: JourneyDef): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const { step } of walkSteps(def.steps)) {
    if (step.type !== 'action' || step.action !== 'coupon' || step.pool in out) continue;
    const p = await coupons.getPool(step.pool);
    out[step.pool] = p ? Math.max(0, p.loaded - p.taken) : 0;
  }
  return out;
}

/** The body's `since` (a duration, default 30d) as ms. */
export function sinceMsOf(v: unknown): number {
  if (v === undefined) return SIMULATION_DEFAULTS.sinceMs;
  if (typeof v !== 'string') throw usage('since must be a duration such as 30d, 12h or 2w');
  const ms = parseDuration(v);
  if (ms === null) throw usage(`since must be a duration such as 30d, 12h or 2w, got ${JSON.stringify(v)}`);
  return ms;
}

/** The body's `sample` (default 3, at most 50). */
export function sampleOf(v: unknown): number {
  if (v === undefined) return SIMULATION_DEFAULTS.sample;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > SIMULATION_DEFAULTS.maxSample)
    throw usage(`sample must be a whole number from 0 to ${SIMULATION_DEFAULTS.maxSample}`);
  return v as number;
}

export function registerSimulateRoute(router: AdminRouter, deps: SimulateRouteDeps, now: () => number = Date.now): AdminRouter {
  return router.add('POST', '/v1/journeys/simulate', async (req) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw usage('the body is a JSON object: {journey | id, since?, sample?}');
    if ((body.journey === undefined) === (body.id === undefined))
      throw usage('name the journey to simulate: either "journey" (a document) or "id" (an applied journey)');
    const sinceMs = sinceMsOf(body.since);
    const sample = sampleOf(body.sample);
    let applied: AppliedJourney;
    if (body.id !== undefined) {
      const head = typeof body.id === 'string' ? await getJourneyHead(deps.definitionsTable, body.id) : null;
      if (!head || head.status === 'deleted') throw new CairnError('definition_not_found', `no journey "${String(body.id)}"`, 404);
      // Its current version, as if active: a dry run asks what it would do, paused or not.
      applied = asApplied(head.definition, head.version);
    } else {
      const def = validateDefinition(body.journey, { file: 'request body', index: 0 });
      if (def.kind !== 'journey') throw usage(`"journey" must be a journey document, not a ${def.kind}`);
      applied = asApplied(def);
    }
    if (!deps.lake) throw new CairnError('lake_unavailable', 'no lake query engine is configured for the admin API: use npx cairn journey simulate', 503);
    const policy = ((await getDefinition(deps.definitionsTable, 'policy', POLICY_ID))?.definition as PolicyDef | undefined) ?? null;
    const others = (await listDefinitions(deps.definitionsTable, 'journey')).map((d) => d.definition as JourneyDef).filter((j) => j.id !== applied.def.id);
    const until = now();
    const report = await simulateFromLake({
      journey: applied,
      policy,
      query: lakeEngineQuery(deps.lake, {
        maxRows: Math.max(HISTORY_LIMITS.events, HISTORY_LIMITS.profiles) + 1,
        timeoutMs: deps.simulationTimeoutMs ?? 25_000,
      }),
      since: until - sinceMs,
      until,
      sample,
      pools: await poolsLeft(deps.coupons, applied.def),
      transactional: transactionalSteps(others),
    });
    return { status: 200, body: report };
  });
}
