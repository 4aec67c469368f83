/**
 * Source and write-key routes of the admin API (docs/security.md):
 *
 *   GET    /v1/sources                         sources, their trust level and keys (no secrets, no hashes)
 *   POST   /v1/sources/{id}/keys               new key, returned once; the old keys expire after `overlap`
 *                                              (`{"create": true, "trust": "server"|"browser"}`: a new source)
 *   PUT    /v1/sources/{id}/trust              `{"trust": "server"|"browser"}`: what its messages may assert
 *   DELETE /v1/sources/{id}/keys/{keyId}       revoke a key now
 */
import { CairnError } from '../errors';
import { parseDuration } from '../definitions';
import { DEFAULT_OVERLAP_MS, MAX_OVERLAP_MS, SOURCE_CACHE_MS, checkTrust, listSources, revokeKey, rotateKey, setSourceTrust } from '../collect/sources';
import type { SourceTrust } from '../message';
import type { AdminRouter } from '../http';

/** `24h`, `30m`, `1d12h`, `0` (no overlap) → ms; throws `invalid_overlap`. */
export function parseOverlap(v: unknown): number {
  if (v === undefined || v === null) return DEFAULT_OVERLAP_MS;
  if (v === 0 || v === '0') return 0;
  const ms = typeof v === 'string' ? parseDuration(v) : null;
  if (ms === null || ms > MAX_OVERLAP_MS) {
    throw new CairnError('invalid_overlap', `overlap must be a duration such as 24h, 30m or 0, at most ${MAX_OVERLAP_MS / 86_400_000}d`, 400);
  }
  return ms;
}

function rotateBody(body: unknown): { overlap?: unknown; create?: boolean; name?: string; trust?: SourceTrust } {
  if (body === undefined) return {};
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new CairnError('invalid_body', 'body must be a JSON object: {"overlap":"24h"}', 400);
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!['overlap', 'create', 'name', 'trust'].includes(k)) throw new CairnError('invalid_body', `unknown field ${JSON.stringify(k.slice(0, 40))}`, 400);
  if (b.create !== undefined && typeof b.create !== 'boolean') throw new CairnError('invalid_body', 'create must be true or false', 400);
  if (b.name !== undefined && (typeof b.name !== 'string' || b.name.length === 0 || b.name.length > 200))
    throw new CairnError('invalid_body', 'name must be a string of 1-200 characters', 400);
  // A rotation keeps the source's level; changing it is its own audited request (PUT …/trust).
  if (b.trust !== undefined && b.create !== true)
    throw new CairnError('invalid_body', 'trust is given when creating a source; change it with PUT /v1/sources/{id}/trust', 400);
  return {
    overlap: b.overlap,
    create: b.create as boolean | undefined,
    name: b.name as string | undefined,
    ...(b.trust !== undefined ? { trust: checkTrust(b.trust) } : {}),
  };
}

function trustBody(body: unknown): SourceTrust {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new CairnError('invalid_body', 'body must be a JSON object: {"trust":"browser"}', 400);
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'trust') throw new CairnError('invalid_body', `unknown field ${JSON.stringify(k.slice(0, 40))}`, 400);
  return checkTrust(b.trust);
}

/** The routes, over the sources table `table` (CAIRN_SOURCES_TABLE). */
export function registerKeyRoutes(router: AdminRouter, table: string): AdminRouter {
  router.add('GET', '/v1/sources', async () => ({ status: 200, body: { sources: await listSources(table) } }));
  router.add('POST', '/v1/sources/{id}/keys', async (req) => {
    const b = rotateBody(req.body);
    const r = await rotateKey(table, req.params.id!, {
      overlapMs: parseOverlap(b.overlap),
      create: b.create,
      name: b.name,
      ...(b.trust ? { trust: b.trust } : {}),
    });
    // The key is in this answer only: never cache it anywhere on the way.
    return { status: 201, body: r, headers: { 'cache-control': 'no-store' } };
  });
  router.add('PUT', '/v1/sources/{id}/trust', async (req) => {
    const source = await setSourceTrust(table, req.params.id!, trustBody(req.body));
    return { status: 200, body: { ...source, effectiveWithinSeconds: SOURCE_CACHE_MS.positive / 1000 } };
  });
  router.add('DELETE', '/v1/sources/{id}/keys/{keyId}', async (req) => {
    const key = await revokeKey(table, req.params.id!, req.params.keyId!);
    return { status: 200, body: { sourceId: req.params.id, ...key, effectiveWithinSeconds: SOURCE_CACHE_MS.positive / 1000 } };
  });
  return router;
}
