/**
 * Reading profiles: by any identifier (`type:value`, normalised the same way as in resolution; a
 * merged-away `profile_id` follows `mergedInto`), and a profile's timeline across merged profiles.
 */
import { CairnError } from '../errors';
import { type IdentityConfig, identityKey, isBlocked, parseIdentifier, absorb, type IdentityStore, type ProfileRecord, type TimelineItem } from '../identity';

/** The live profile an identifier resolves to, or null (unknown, blocked or a super-node). */
export async function findProfile(store: IdentityStore, config: IdentityConfig, identifier: string): Promise<ProfileRecord | null> {
  const id = parseIdentifier(identifier, config);
  let profileId: string;
  if (id.type === 'profile_id') profileId = id.value;
  else {
    if (isBlocked(id, config)) return null;
    const key = identityKey(id);
    const r = await store.read({ identities: [key] }, false);
    const it = r.identities.get(key);
    // Blocked by an unmerge (docs/identity.md): the identifier names nobody any more.
    if (!it || it.blocked) return null;
    const cap = config.types[id.type]?.superNodeCap;
    if (cap != null && it.cnt >= cap) return null;
    profileId = it.profileId;
  }
  const chain: ProfileRecord[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await store.read({ profiles: [profileId] }, false);
    const p = r.profiles.get(profileId);
    if (!p) break;
    chain.push(p);
    if (!p.mergedInto || chain.some((c) => c.profileId === p.mergedInto)) break;
    profileId = p.mergedInto;
  }
  const end = chain[chain.length - 1];
  if (!end) return null;
  // A frozen profile its survivor has not absorbed yet (an interrupted merge): show it absorbed.
  // (When the survivor itself is not written yet, the frozen profile is the best view there is.)
  if (!end.mergedInto) for (let i = chain.length - 2; i >= 0; i--) absorb(end, chain[i]!);
  return end;
}

export interface EventsPage {
  profileId: string;
  events: Omit<TimelineItem, 'profileId' | 'sk'>[];
  /** Pass as `before` for the next (older) page; null when this page is the last. */
  next: string | null;
}

/** Newest first across the profile and every profile merged into it; a message is listed once. */
export async function profileEvents(store: IdentityStore, p: ProfileRecord, opts: { limit: number; before?: string }): Promise<EventsPage> {
  if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 1000)
    throw new CairnError('invalid_parameter', 'limit must be an integer from 1 to 1000', 400);
  const ids = [p.profileId, ...p.mergedFrom];
  const pages = await Promise.all(
    ids.map((id) => store.queryTimeline(id, { limit: opts.limit + 1, ...(opts.before !== undefined ? { before: opts.before } : {}) })),
  );
  const seen = new Set<string>();
  const all = pages
    .flat()
    .sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0))
    .filter((t) => !seen.has(t.messageId) && !!seen.add(t.messageId));
  const page = all.slice(0, opts.limit);
  const more = all.length > opts.limit || pages.some((x) => x.length > opts.limit);
  return {
    profileId: p.profileId,
    // The lake keys are the erasure's and the export's index, not the person's data.
    events: page.map(({ profileId: _p, sk: _s, lakeKeys: _k, ...rest }) => rest),
    next: more && page.length ? page[page.length - 1]!.sk : null,
  };
}
