/**
 * `GET /v1/profiles/{identifier}/export` (GDPR Art. 20, docs/privacy.md): everything held on the
 * person as one JSON document — the profile, identities, consent, segments, journey state, the
 * timeline (every event, compact) and the full event rows from the lake.
 *
 * Lake events without scanning the whole lake: the timeline items name the objects holding the
 * person's rows (the lake index); only those are read — for items written before the index, the
 * whole partition of their day (`dt`, by `receivedAt`) — at most
 * EXPORT_LIMITS.partitions of them and EXPORT_LIMITS.objects objects. When a limit cuts the read,
 * `lake.complete` is false and the timeline (which lists every event) stays complete.
 *
 * Compacted days (docs/lake.md#compaction): once an events/ object has expired
 * (RETENTION.compactedEventsDays) its rows are only in the day's Parquet parts, which are too large
 * for the admin function to read: it is skipped and `lake.complete` is false (the timeline still
 * lists the events).
 */
import { LAKE } from '../config';
import { type IdentityStore, type ProfileRecord, type TimelineItem, toApiProfile } from '../identity';
import { dateOf, decodeJsonLines } from '../lake/index';
import type { LakeEventRow } from '../message';
import type { LakeObjects } from './lake';
import type { JourneyRuns, ListDefinitions } from './ports';

export const EXPORT_LIMITS = { timeline: 10_000, partitions: 90, objects: 5_000 } as const;

/** Where an export reads what is not on the profile: the lake objects, journey state and the journeys defined. */
export interface ExportSources {
  lake: Pick<LakeObjects, 'get'>;
  journeyRuns: Pick<JourneyRuns, 'get' | 'getSends'>;
  listDefinitions: ListDefinitions;
}

export interface ProfileExport {
  format: 'cairn.profile-export.v1';
  exportedAt: string;
  profile: ReturnType<typeof toApiProfile>;
  identities: { type: string; value: string }[];
  consent: ReturnType<typeof toApiProfile>['consent'];
  segments: string[];
  journeys: { journeyId: string; profileId: string; run: unknown; entries: unknown[] }[];
  /** The messages the policy's caps counted for the person (docs/journeys.md#governance): channel, journey, time. */
  messages: { profileId: string; channel: string; journeyId: string; at: string; priority: string }[];
  timeline: { events: Omit<TimelineItem, 'profileId' | 'sk'>[]; complete: boolean };
  lake: { events: LakeEventRow[]; partitionsRead: string[]; complete: boolean };
}

async function timelineOf(store: IdentityStore, ids: string[]): Promise<{ items: TimelineItem[]; complete: boolean }> {
  const seen = new Set<string>();
  const items: TimelineItem[] = [];
  let complete = true;
  for (const id of ids) {
    let before: string | undefined;
    for (;;) {
      const page = await store.queryTimeline(id, { limit: 1000, ...(before !== undefined ? { before } : {}) });
      for (const t of page) if (!seen.has(t.messageId) && seen.add(t.messageId)) items.push(t);
      if (items.length >= EXPORT_LIMITS.timeline) {
        complete = false;
        break;
      }
      if (page.length < 1000) break;
      before = page[page.length - 1]!.sk;
    }
  }
  items.sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0));
  return { items: items.slice(0, EXPORT_LIMITS.timeline), complete };
}

const isMissing = (e: unknown) => (e as Error)?.name === 'NoSuchKey';

/** An events/ object's body; undefined when it is gone (a compacted day's object expired). */
async function readEventsObject(lake: Pick<LakeObjects, 'get'>, key: string): Promise<Uint8Array | undefined> {
  try {
    return (await lake.get(key)).body;
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

export async function exportProfile(store: IdentityStore, sources: ExportSources, p: ProfileRecord, now = new Date()): Promise<ProfileExport> {
  const ids = [p.profileId, ...p.mergedFrom];
  const tl = await timelineOf(store, ids);
  const messageIds = new Set(tl.items.map((t) => t.messageId));

  // Lake: the partitions of the days the person has events on (events/ is partitioned by receivedAt).
  const days = [...new Set(tl.items.map((t) => dateOf(t.receivedAt)))].sort();
  let complete = tl.complete && days.length <= EXPORT_LIMITS.partitions;
  const partitions = days.slice(-EXPORT_LIMITS.partitions);
  const lakeEvents: LakeEventRow[] = [];
  let objects = 0;
  // The objects the timeline items name (the lake index, shared/identity/lake-index.ts). Items written
  // before the index name none: their rows are not looked for (no listing of whole days — the
  // admin function may not list the lake), and the export says it is incomplete (docs/privacy.md).
  const byDay = new Map<string, { keys: Set<string>; whole: boolean }>();
  for (const t of tl.items) {
    const d = dateOf(t.receivedAt);
    let e = byDay.get(d);
    if (!e) byDay.set(d, (e = { keys: new Set(), whole: false }));
    const own = (t.lakeKeys ?? []).filter((k) => k.startsWith(LAKE.eventsPrefix));
    if (own.length) for (const k of own) e.keys.add(k);
    else e.whole = true;
  }
  for (const d of partitions) {
    const day = byDay.get(d);
    if (!day || day.whole) complete = false;
    const keys = day ? [...day.keys].sort() : [];
    for (const key of keys) {
      if (++objects > EXPORT_LIMITS.objects) {
        complete = false;
        break;
      }
      const body = await readEventsObject(sources.lake, key);
      if (!body) {
        complete = false;
        continue;
      }
      for (const row of decodeJsonLines<LakeEventRow>(body)) if (messageIds.has(row.message_id)) lakeEvents.push(row);
    }
  }
  lakeEvents.sort((a, b) => (a.timestamp < b.timestamp ? 1 : -1));

  // Journey state of every profile of the person.
  const journeys: ProfileExport['journeys'] = [];
  const defs = (await sources.listDefinitions('journey')).map((d) => d.id);
  for (const j of defs) {
    for (const pid of ids) {
      const s: { run?: unknown; entries?: unknown[] } | undefined = await sources.journeyRuns.get(j, pid, false);
      if (!s) continue;
      journeys.push({ journeyId: j, profileId: pid, run: s.run ?? null, entries: s.entries ?? [] });
    }
  }

  const messages: ProfileExport['messages'] = [];
  for (const pid of ids)
    for (const log of await sources.journeyRuns.getSends(pid))
      for (const x of log.sends)
        messages.push({ profileId: pid, channel: log.channel, journeyId: x.journeyId, at: new Date(x.at).toISOString(), priority: x.priority });

  const profile = toApiProfile(p);
  return {
    format: 'cairn.profile-export.v1',
    exportedAt: now.toISOString(),
    profile,
    identities: profile.identities,
    consent: profile.consent,
    segments: profile.segments,
    journeys,
    messages,
    timeline: { events: tl.items.map(({ profileId: _p, sk: _s, lakeKeys: _k, ...rest }) => rest), complete: tl.complete },
    lake: { events: lakeEvents, partitionsRead: partitions, complete },
  };
}
