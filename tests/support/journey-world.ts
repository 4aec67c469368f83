/**
 * λ journey's shell on the in-memory store, for the journey-versions tests: the versions and the
 * lifecycle the test changes as it goes, a scheduler keeping schedules by name (a name scheduled
 * twice is kept once, as EventBridge Scheduler refuses the second), a clock, and what the run did —
 * schedules created and fired, lake rows (each put, and all of them).
 */
import { parseDefinitions } from '#shared/definitions/parse';
import type { JourneyLifecycle } from '#shared/definitions/versions';
import type { JourneyDef } from '#shared/definitions/types';
import type { ProfileRecord } from '#shared/identity/types';
import type { ActionSender } from '#shared/journeys/actions/types';
import { handleJourney, type JourneyDeps } from '#shared/journeys/handler';
import { MemoryJourneyStore } from '#shared/journeys/memory-store';
import type { ResumeInput } from '#shared/journeys/schedule';
import type { LakeJourneyStepRow } from '#shared/journeys/steps';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

/** The one journey a YAML document defines. */
export const journeyOf = (yaml: string) => parseDefinitions(yaml, 'test.yaml')[0] as JourneyDef;

/** A person's profile as the journey reads it: nothing but `identities` and `traits`. */
export function personProfile(id: string, o: { at: number; identities?: ProfileRecord['identities']; traits?: ProfileRecord['traits'] }): ProfileRecord {
  const at = new Date(o.at).toISOString();
  return {
    profileId: id,
    version: 1,
    createdAt: at,
    updatedAt: at,
    identities: o.identities ?? [{ type: 'user_id', value: id }],
    traits: o.traits ?? {},
    traitK: {},
    computed: {} as ProfileRecord['computed'],
    consent: {},
    groups: [],
    mergedFrom: [],
    dd: { s: {}, r: [] },
  } as ProfileRecord;
}

export interface JourneyWorld {
  now: number;
  lifecycle: JourneyLifecycle;
  versions: Record<number, JourneyDef>;
  store: MemoryJourneyStore;
  schedules: Map<string, { at: number; input: ResumeInput }>;
  /** Every schedule name asked for, in order (a repeat too). */
  created: string[];
  /** The inputs of the schedules fired by `runDue`. */
  fired: ResumeInput[];
  /** Each put of lake rows, as written. */
  puts: LakeJourneyStepRow[][];
  /** All lake rows. */
  rows: LakeJourneyStepRow[];
  deps: JourneyDeps;
}

export function journeyWorld(o: {
  versions: Record<number, JourneyDef>;
  lifecycle: JourneyLifecycle;
  now: number;
  profile: (id: string) => ProfileRecord;
  /** Every channel sends through it (given the world, to read its clock and lifecycle). */
  send: (w: JourneyWorld) => ActionSender;
  /** More of λ journey's dependencies (a timeline, governance). */
  deps?: Partial<JourneyDeps>;
}): JourneyWorld {
  const store = new MemoryJourneyStore();
  const schedules = new Map<string, { at: number; input: ResumeInput }>();
  const w: JourneyWorld = {
    now: o.now,
    lifecycle: o.lifecycle,
    versions: o.versions,
    store,
    schedules,
    created: [],
    fired: [],
    puts: [],
    rows: [],
    deps: undefined as unknown as JourneyDeps,
  };
  const send = o.send(w);
  w.deps = {
    store,
    profiles: { get: async (id) => o.profile(id) },
    journey: async () => ({ def: w.versions[w.lifecycle.version]!, lifecycle: w.lifecycle }),
    version: async (_id, n) => w.versions[n] ?? null,
    waits: {
      create: async (name, at, input) => {
        w.created.push(name);
        if (!schedules.has(name)) schedules.set(name, { at, input });
      },
      cancel: async (name) => {
        schedules.delete(name);
      },
    },
    senders: { email: send, sms: send, webhook: send, traits: send, event: send },
    steps: {
      put: async (_id, _profileId, _at, r) => {
        w.puts.push(r);
        w.rows.push(...r);
      },
    },
    now: () => w.now,
    ...o.deps,
  };
  return w;
}

/** Fires every schedule due by `until`, in time order (a schedule deletes itself once it fired); the outcomes. */
export async function runDue(w: JourneyWorld, until: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (;;) {
    const due = [...w.schedules.entries()].filter(([, s]) => s.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
    if (!due) break;
    w.schedules.delete(due[0]);
    w.now = Math.max(w.now, due[1].at);
    w.fired.push(due[1].input);
    outcomes.push((await handleJourney(due[1].input, w.deps, 'arn:self')).outcome);
  }
  w.now = Math.max(w.now, until);
  return outcomes;
}
