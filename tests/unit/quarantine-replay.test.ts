/**
 * `POST /v1/quarantine/replay` (shared/admin/quarantine.ts, docs/api.md#quarantine-replay): what the
 * request may say, what reaches the replay, and the 503 of a stack that gives λ admin no streams. The
 * replay itself over the local stack is in tests/integration/quarantine-replay.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { apiGatewayEventFor } from '#local/apigw';
import { registerQuarantineRoutes, replayRequest, REPLAY_OBJECTS, type QuarantineReplayRequest } from '#shared/admin';
import { AdminRouter } from '#shared/http';

const NOW = Date.parse('2026-07-01T12:00:00Z');

describe('quarantine replay requests', () => {
  it('reads since as a duration back or a date, dryRun, and a bounded number of objects', () => {
    expect(replayRequest(undefined)).toEqual({ dryRun: false, limit: REPLAY_OBJECTS.default });
    expect(replayRequest({ since: '2h', dryRun: true }, NOW)).toEqual({ since: new Date(NOW - 7_200_000), dryRun: true, limit: 25 });
    expect(replayRequest({ since: '2026-06-30', maxObjects: 5 }, NOW)).toEqual({ since: new Date('2026-06-30'), dryRun: false, limit: 5 });
    for (const bad of [
      [],
      'x',
      { since: 'soon' },
      { since: 7 },
      { dryRun: 'yes' },
      { maxObjects: 0 },
      { maxObjects: 101 },
      { maxObjects: 1.5 },
      { from: 'failed' },
    ])
      expect(() => replayRequest(bad, NOW), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'invalid_body', status: 400 }));
  });

  it('hands the request to the replay and answers its summary; without streams it is 503 replay_unavailable', async () => {
    const seen: QuarantineReplayRequest[] = [];
    const summary = {
      dryRun: true,
      objects: 2,
      replayedObjects: 0,
      alreadyReplayed: 0,
      records: { 'cairn-raw': 3 },
      suppressed: 1,
      unreplayable: [],
      more: true,
    };
    const call = async (replayQuarantine: Parameters<typeof registerQuarantineRoutes>[1]['replayQuarantine'], body: unknown) => {
      const r = await registerQuarantineRoutes(new AdminRouter(), { replayQuarantine }).handle(
        apiGatewayEventFor('POST', '/v1/quarantine/replay', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      );
      return { status: r.statusCode, json: JSON.parse(String(r.body)) };
    };
    const ok = await call(
      async (o) => {
        seen.push(o);
        return summary;
      },
      { dryRun: true, maxObjects: 2 },
    );
    expect(ok).toEqual({ status: 200, json: summary });
    expect(seen).toEqual([{ dryRun: true, limit: 2 }]);
    const none = await call(null, {});
    expect([none.status, none.json.error.code]).toEqual([503, 'replay_unavailable']);
    // A bad request is refused before anything runs, even where the replay would be unavailable.
    expect((await call(null, { maxObjects: -1 })).status).toBe(400);
  });
});
