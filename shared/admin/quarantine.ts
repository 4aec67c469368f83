/**
 * Quarantine replay on the admin API (docs/api.md#admin-api):
 *
 *   POST /v1/quarantine/replay   {since?, dryRun?, maxObjects?} → the replay's summary
 *
 * The replay is `npx cairn replay --from quarantine`'s own (shared/normalize/s3-replay.ts): each
 * quarantine object's rows go back onto the stream their stage read, byte for byte (same messageId, so
 * what was accepted meanwhile counts once), an erased person's never; each object replayed gets its
 * ledger object, so a second request skips it. One request replays at most `maxObjects` objects (it
 * must end within λ admin's timeout); `more: true` says to send it again.
 */
import { CairnError } from '../errors';
import type { AdminRouter } from '../http';
import type { ReplaySummary } from '../normalize/s3-replay';

export interface QuarantineReplayRequest {
  since?: Date;
  dryRun: boolean;
  limit: number;
}

export interface QuarantineRouteDeps {
  /** Replays quarantined messages; null where the stack gives λ admin no streams to replay onto (503 replay_unavailable). */
  replayQuarantine: ((o: QuarantineReplayRequest) => Promise<ReplaySummary>) | null;
}

/** Objects one request replays at most, by default and at the most. */
export const REPLAY_OBJECTS = { default: 25, max: 100 } as const;

const invalid = (msg: string) => new CairnError('invalid_body', msg, 400);

/** `{since?, dryRun?, maxObjects?}`: since a duration back (`30m`, `2h`, `7d`) or an ISO date. */
export function replayRequest(body: unknown, now = Date.now()): QuarantineReplayRequest {
  if (body === undefined) return { dryRun: false, limit: REPLAY_OBJECTS.default };
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw invalid('body must be a JSON object: {"since"?: "2h", "dryRun"?: true, "maxObjects"?: 25}');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['since', 'dryRun', 'maxObjects'].includes(k)) throw invalid(`unknown field ${JSON.stringify(k.slice(0, 40))}`);
  if (b.dryRun !== undefined && typeof b.dryRun !== 'boolean') throw invalid('dryRun must be true or false');
  const limit = b.maxObjects ?? REPLAY_OBJECTS.default;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > REPLAY_OBJECTS.max)
    throw invalid(`maxObjects must be a whole number from 1 to ${REPLAY_OBJECTS.max}`);
  let since: Date | undefined;
  if (b.since !== undefined) {
    const m = typeof b.since === 'string' ? /^(\d+)\s*(m|h|d)$/.exec(b.since.trim()) : null;
    const t =
      typeof b.since === 'string' ? (m ? now - Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'] : Date.parse(b.since)) : NaN;
    if (Number.isNaN(t)) throw invalid(`since must be a duration (30m, 2h, 7d) or a date, got ${JSON.stringify(String(b.since).slice(0, 40))}`);
    since = new Date(t);
  }
  return { ...(since ? { since } : {}), dryRun: b.dryRun === true, limit };
}

export function registerQuarantineRoutes(router: AdminRouter, deps: QuarantineRouteDeps): AdminRouter {
  router.add('POST', '/v1/quarantine/replay', async (req) => {
    const o = replayRequest(req.body);
    if (!deps.replayQuarantine)
      throw new CairnError('replay_unavailable', 'this stack gives the admin API no streams to replay onto: run npx cairn replay --from quarantine', 503);
    return { status: 200, body: await deps.replayQuarantine(o) };
  });
  return router;
}
