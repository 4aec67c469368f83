/**
 * Source trust in resolution (docs/security.md#source-trust): what a message from a `browser`
 * source may assert about a person. Pure; resolve.ts applies it, absorb (profile.ts) honours the
 * guard it leaves on a merge.
 *
 * A browser key ships in every page, so anyone can post any message with it. What such a message
 * proves is that its sender holds the anonymousId it carries (the browser's cookie, a random id
 * nobody else knows); everything else in it is a claim. So a browser message *speaks for* a profile
 * only when that profile is its own session's:
 *
 *  - a profile with a user id: its `sessions` list the anonymous id — the one that first identified
 *    the user id (the browser where the person signed up or first logged in), or one a server
 *    source linked to it;
 *  - a profile without a user id: it holds the anonymous id.
 *
 * What follows for a browser message (a server message keeps every right it always had):
 *
 *  - It may land on a profile it does not speak for only through its userId (or its own
 *    anonymousId): the event counts there, as an event with that userId always could. An email,
 *    phone or other identifier that leads to another account (a profile with a user id) never links
 *    it, and at most one such profile is joined.
 *  - Where it lands on its own session's profile (or a new one), an identifier leading to a profile
 *    no account holds (a server-made CRM or till record) links it: had the browser message come
 *    first, the server's would have linked through the browser's identifier, and resolution must
 *    not depend on which shard delivers first.
 *  - Its own session's profile is merged into that one only when it holds nothing but anonymous
 *    ids, and the merge is guarded: the session's consent grants, identifying traits and sessions
 *    stay behind (absorb), so an anonymous profile primed with `consent: true` or an email cannot
 *    be poured into someone else's.
 *  - On a profile it does not speak for, it attaches no identifier but its anonymousId, writes no
 *    identifying trait (`email`, `phone`, … : the identifier types' trait keys) and grants no
 *    consent; opt-outs are applied, being the safe direction.
 *  - Wherever it lands, the trait of an identifier it was refused is not written either.
 *
 * What was refused is listed on the timeline item (`refused`) and counted (`refused.<kind>`).
 */
import { createHash } from 'node:crypto';
import type { JsonObject, NormalizedMessage } from '../message';
import { isPlainObject } from '../lang';
import type { IdentityConfig } from './config';
import { type Identifier, isInvalid, normalizeIdentifier } from './identifiers';
import type { ConsentState, MergeGuard, ProfileRecord } from './types';

/** Most browser sessions a profile keeps (sorted; past it the greatest hashes go: fewer rights, never more). */
export const MAX_SESSIONS = 16;

/** What a profile keeps of an anonymous id it trusts: a hash (96 bits), not the id. */
export const sessionHash = (anonymousId: string): string => createHash('sha256').update(`cairn/session/${anonymousId}`).digest('base64url').slice(0, 16);

/** The message's anonymousId as an identifier value (normalised as the graph stores it), if usable. */
export function sessionOf(m: NormalizedMessage, config: IdentityConfig): string | undefined {
  if (m.anonymousId === undefined) return undefined;
  const n = normalizeIdentifier('anonymous_id', m.anonymousId, config);
  return isInvalid(n) ? undefined : n.value;
}

/** Trait names that carry identifiers (every type's `traitKeys`): `email`, `phone`, `crm_id`, … */
export function identifierTraitKeys(config: IdentityConfig): Map<string, string> {
  const out = new Map<string, string>();
  for (const [type, c] of Object.entries(config.types)) for (const k of c.traitKeys ?? []) out.set(k, type);
  return out;
}

const hasUserId = (p: ProfileRecord): boolean => p.identities.some((i) => i.type === 'user_id');

/** Whether the browser holding `anonymousId` speaks for profile `p` (see above). */
export function speaksFor(p: ProfileRecord, anonymousId: string | undefined): boolean {
  if (anonymousId === undefined) return false;
  if (hasUserId(p)) return (p.sessions ?? []).includes(sessionHash(anonymousId));
  return p.identities.some((i) => i.type === 'anonymous_id' && i.value === anonymousId);
}

/** Adds a session to a profile (sorted, capped); true when it changed. */
export function addSession(p: ProfileRecord, anonymousId: string): boolean {
  const h = sessionHash(anonymousId);
  const cur = p.sessions ?? [];
  if (cur.includes(h)) return false;
  const next = [...cur, h].sort().slice(0, MAX_SESSIONS);
  if (!next.includes(h)) return false;
  p.sessions = next;
  return true;
}

/** One identifier of a message, with the profile (root) the graph gives it, as resolve.ts sorts them. */
export interface TrustEntry {
  id: Identifier;
  key: string;
  root: string | undefined;
  /** An anchor from an earlier attempt (resolve.ts): kept as it is. */
  pseudo?: boolean;
}

export interface Screened<E extends TrustEntry> {
  /** The entries resolution may use, in the order given. */
  kept: E[];
  /** Entries refused: `identifier` (not attached, or would have linked someone else) or `merge`. */
  refused: { entry: E; kind: 'identifier' | 'merge' }[];
  /** The one profile kept that this message does not speak for, if any. */
  foreign?: string;
  /** The message's own session's profile, when it may be merged into `foreign` (guarded). */
  session?: string;
}

/**
 * Which identifiers of a browser message resolution may use (see the header). `profile(root)` is
 * the root's record; `anonymousId` the message's own (sessionOf).
 */
export function screenEntries<E extends TrustEntry>(entries: E[], anonymousId: string | undefined, profile: (root: string) => ProfileRecord): Screened<E> {
  const sessionKey = anonymousId !== undefined ? `anonymous_id:${anonymousId}` : undefined;
  const own = new Map<string, boolean>();
  const owned = (root: string) => {
    let v = own.get(root);
    if (v === undefined) own.set(root, (v = speaksFor(profile(root), anonymousId)));
    return v;
  };
  // The one profile it may land on without speaking for it: through its userId (or previousId as a
  // user id), or its own anonymousId when that already belongs to someone else's profile.
  let foreign: string | undefined;
  for (const e of entries) {
    if (e.pseudo || e.root === undefined || owned(e.root)) continue;
    if (e.key === sessionKey || e.id.type === 'user_id') {
      foreign = e.root;
      break;
    }
  }
  const sessionRoot = entries.find((e) => !e.pseudo && e.key === sessionKey)?.root;
  const kept: E[] = [];
  const refused: Screened<E>['refused'] = [];
  let session: string | undefined;
  for (const e of entries) {
    if (e.pseudo || (foreign !== undefined && e.root === foreign)) {
      kept.push(e); // an earlier attempt's anchor, or the same profile: links nothing new
      continue;
    }
    if (e.root === undefined) {
      // New identifiers: its own profile's (or a new one's) to take; someone else's only the anonymousId.
      if (foreign === undefined || e.key === sessionKey) kept.push(e);
      else refused.push({ entry: e, kind: 'identifier' });
      continue;
    }
    if (!owned(e.root)) {
      // A claim (an email, a phone) leading to a profile nobody's account holds: linked, as the server
      // message that put it there would have linked it had this message come first (order-independent).
      if (foreign === undefined && e.id.type !== 'user_id' && !hasUserId(profile(e.root))) {
        kept.push(e);
        continue;
      }
      // A claim (an email, a phone, a second user id) leading to another person's account.
      refused.push({ entry: e, kind: 'identifier' });
      continue;
    }
    if (foreign === undefined) {
      kept.push(e);
      continue;
    }
    // Its own session's profile joining someone else's: only an anonymous one, and guarded.
    if (e.root === sessionRoot && profile(e.root).identities.every((i) => i.type === 'anonymous_id')) {
      session = e.root;
      kept.push(e);
    } else refused.push({ entry: e, kind: 'merge' });
  }
  return { kept, refused, ...(foreign !== undefined ? { foreign } : {}), ...(session !== undefined ? { session } : {}) };
}

/** The guard a merge of `merged` into `survivor` gets, when one of them is the browser session's profile. */
export function mergeGuard(survivor: string, merged: string, session: string | undefined, config: IdentityConfig): MergeGuard | undefined {
  if (session === undefined || (session !== survivor && session !== merged)) return undefined;
  return { session: session === survivor ? 'survivor' : 'merged', traits: [...identifierTraitKeys(config).keys()].sort() };
}

/**
 * The consent of a guarded merge: the person's side as it is, plus the session side's opt-outs that
 * are newer (a grant from a browser that does not speak for the person is not the person's).
 */
export function guardedConsent(person: Record<string, ConsentState>, session: Record<string, ConsentState>): Record<string, ConsentState> {
  const out: Record<string, ConsentState> = {};
  for (const [ch, v] of Object.entries(person)) out[ch] = { ...v };
  for (const [ch, v] of Object.entries(session)) {
    if (v.granted) continue;
    const cur = out[ch];
    if (!cur || v.k > cur.k) out[ch] = { ...v };
  }
  return out;
}

/** A consent object without its grants (`true`), nested `categoryPreferences` included. */
function withoutGrants(o: JsonObject, refused: Set<string>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'categoryPreferences' && isPlainObject<JsonObject>(v)) out[k] = withoutGrants(v, refused);
    else if (v === true) refused.add(k);
    else out[k] = v;
  }
  return out;
}

/** What the message may not assert on its target: identifying traits by name, and whether consent grants go. */
export interface Withheld {
  traits: ReadonlySet<string>;
  grants: boolean;
}

/**
 * The message without what it may not assert (traits, `context.traits`, consent grants), and what
 * was taken out that would have changed `target` (a trait with another value, a grant of a channel
 * not granted): `trait:<name>`, `consent:<channel>`. The message is returned as is when nothing goes.
 */
export function withhold(m: NormalizedMessage, w: Withheld, target: ProfileRecord): { message: NormalizedMessage; refused: string[] } {
  if (w.traits.size === 0 && !w.grants) return { message: m, refused: [] };
  const refused = new Set<string>();
  const grants = new Set<string>();
  const strip = (t: JsonObject, withConsent: boolean): JsonObject => {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(t)) {
      if (w.traits.has(k)) {
        if (JSON.stringify(target.traits[k] ?? null) !== JSON.stringify(v)) refused.add(`trait:${k}`);
        continue;
      }
      out[k] = withConsent && k === 'consent' && w.grants && isPlainObject<JsonObject>(v) ? withoutGrants(v, grants) : v;
    }
    return out;
  };
  // `traits` are the person's on identify only (on group they are the account's: left as they are).
  const message: NormalizedMessage = m.type === 'identify' ? { ...m, traits: strip(m.traits ?? {}, true) } : { ...m };
  const ctx: JsonObject = { ...(m.context ?? {}) };
  if (isPlainObject<JsonObject>(ctx.traits)) ctx.traits = strip(ctx.traits, true);
  if (w.grants && isPlainObject<JsonObject>(ctx.consent)) ctx.consent = withoutGrants(ctx.consent, grants);
  message.context = ctx;
  for (const ch of grants) if (target.consent[ch]?.granted !== true) refused.add(`consent:${ch}`);
  return { message, refused: [...refused].sort() };
}

/**
 * What a browser message may assert where it landed: the message to apply (without what it may not
 * assert) and the refusal notes (`identifier:<type>`, `merge`, `trait:<name>`, `consent:<channel>`).
 * `speaks`: it speaks for `target` (no profile it does not speak for was joined).
 */
export function screenAssertions(
  m: NormalizedMessage,
  screened: Pick<Screened<TrustEntry>, 'refused'>,
  speaks: boolean,
  target: ProfileRecord,
  config: IdentityConfig,
): { message: NormalizedMessage; notes: string[] } {
  const refusedTypes = new Set(screened.refused.filter((r) => r.kind === 'identifier').map((r) => r.entry.id.type));
  const traits = new Set<string>();
  for (const [k, type] of identifierTraitKeys(config)) if (!speaks || refusedTypes.has(type)) traits.add(k);
  const w = withhold(m, { traits, grants: !speaks }, target);
  const notes = new Set<string>(w.refused);
  for (const r of screened.refused) notes.add(r.kind === 'merge' ? 'merge' : `identifier:${r.entry.id.type}`);
  return { message: w.message, notes: [...notes].sort() };
}
