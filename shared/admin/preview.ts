/**
 * `POST /v1/segments/preview?cursor=`: a segment's size before it is saved (docs/api.md#admin-api).
 * The body is the segment document as `PUT /v1/segments/{id}` takes it (JSON or YAML), validated the
 * same way against the running set; the answer is one page of the count (shared/segments/preview.ts):
 * `{scanned, matched, sample, cursor, startsEmpty}` — call again with `cursor` until it is null and
 * add the pages up. Nothing is written.
 */
import { CairnError } from '../errors';
import type { SegmentDef } from '../definitions';
import { listDefinitions } from '../definitions/store';
import { previewSegment, type ProfilePages } from '../segments';
import type { AdminRouter } from '../http';
import { validatePut } from './definitions';

export interface PreviewRouteDeps {
  definitionsTable: string;
  /** The live profiles, page by page, as a sweep reads them (functions/admin: a scan of the profiles table). */
  profilePages: ProfilePages;
  /** Reading budget of one request (default 4 s). */
  previewBudgetMs?: number;
}

/** The id a draft without one is checked under (a draft's id does not change what it counts). */
const DRAFT_ID = 'draft';

export function registerPreviewRoutes(router: AdminRouter, deps: PreviewRouteDeps): AdminRouter {
  router.add('POST', '/v1/segments/preview', async (req) => {
    const cursor = req.query.cursor;
    if (cursor !== undefined && (!cursor || cursor.length > 300)) throw new CairnError('invalid_parameter', 'cursor is not one this API returned', 400);
    const doc = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? { ...(req.body as Record<string, unknown>) } : req.body;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) (doc as Record<string, unknown>).id ??= DRAFT_ID;
    const id = (doc as { id?: unknown } | undefined)?.id;
    const running = (await listDefinitions(deps.definitionsTable)).map((s) => s.definition);
    const def = validatePut('segment', typeof id === 'string' ? id : DRAFT_ID, doc, running, 'POST /v1/segments/preview') as SegmentDef;
    const now = Date.now();
    const page = await previewSegment(def, running, deps.profilePages, {
      now,
      ...(cursor ? { cursor } : {}),
      ...(deps.previewBudgetMs !== undefined ? { budgetMs: deps.previewBudgetMs } : {}),
    });
    return { status: 200, body: { segment: def.id, at: new Date(now).toISOString(), ...page } };
  });
  return router;
}
