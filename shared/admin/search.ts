/**
 * `GET /v1/profiles?q=<text>`: the console's one search box (docs/api.md#admin-api). The text is read
 * as every identifier it may be (shared/identity `searchIdentifiers`: an email, a phone in a local
 * format, a user id, a CRM id, `type:value`, a profile id), each looked up as `GET
 * /v1/profiles/{identifier}` looks it up; the profiles found are listed once each, with the
 * identifiers that matched. A person being erased is listed as erased, with nothing of theirs.
 */
import { CairnError, isCairnError } from '../errors';
import { identityKey, type Identifier, searchIdentifiers, toApiProfile } from '../identity';
import { findProfile } from '../profiles';
import { refuseErased } from '../privacy';
import type { AdminRouter } from '../http';
import type { ProfileRouteDeps } from './profiles';

/** Longest search text (an identifier is at most `maxValueLength`, 256, plus its `type:`). */
export const MAX_SEARCH_LENGTH = 300;

export interface SearchMatch {
  profileId: string;
  /** The identifiers (`type:value`) of the text that lead to this profile. */
  matchedBy: string[];
  /** Set when the person is erased or being erased: nothing else is shown. */
  erased?: true;
  identities?: Identifier[];
  traits?: Record<string, unknown>;
  createdAt?: string;
  updatedAt?: string;
}

export function registerSearchRoutes(router: AdminRouter, deps: ProfileRouteDeps): AdminRouter {
  router.add('GET', '/v1/profiles', async (req) => {
    const q = req.query.q;
    if (typeof q !== 'string' || !q.trim())
      throw new CairnError('invalid_parameter', 'q is required: an email, a phone number, a user id, a CRM id or type:value', 400);
    if (q.length > MAX_SEARCH_LENGTH) throw new CairnError('invalid_parameter', `q is longer than ${MAX_SEARCH_LENGTH} characters`, 400);
    const candidates = searchIdentifiers(q, deps.config);
    const found = await Promise.all(candidates.map(async (id) => ({ id, p: await findProfile(deps.store, deps.config, identityKey(id)) })));
    const byProfile = new Map<string, SearchMatch>();
    for (const { id, p } of found) {
      if (!p) continue;
      const m = byProfile.get(p.profileId);
      if (m) {
        m.matchedBy.push(identityKey(id));
        continue;
      }
      let erased = false;
      try {
        await refuseErased(deps.privacy.suppression, deps.config, identityKey(id), p.identities);
      } catch (e) {
        if (!isCairnError(e) || e.code !== 'profile_erased') throw e;
        erased = true;
      }
      const view = toApiProfile(p);
      byProfile.set(
        p.profileId,
        erased
          ? { profileId: p.profileId, matchedBy: [identityKey(id)], erased: true }
          : {
              profileId: p.profileId,
              matchedBy: [identityKey(id)],
              identities: view.identities,
              traits: view.traits,
              createdAt: view.createdAt,
              updatedAt: view.updatedAt,
            },
      );
    }
    return { status: 200, body: { query: q, searched: candidates.map(identityKey), matches: [...byProfile.values()] } };
  });
  return router;
}
