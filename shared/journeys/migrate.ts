/**
 * Migrating waiting runs to a new journey version (docs/journeys.md#migrating-waiting-runs), pure.
 *
 * A document with `migrate: {from: k, map: {oldStep: newStep}}` moves the runs of version k onto the
 * version it becomes. An active run always rests at a wait (`wait:` or `wait: {until}`), so a migrated
 * run is placed at the image of its wait step: `map[step]`, else the step with the same id. It keeps
 * its wake-up time (its schedule is not touched) and, when it wakes, goes on after that step of the
 * new version; a wait-until there waits for the new step's event. Nothing is guessed: when applied,
 * every wait step of version k must have an image that is a wait step of the new version
 * (`checkMigration`), else the apply is refused with `invalid_migration`. A run held at a message step
 * for the policy's send window is not moved until it reaches its next wait.
 *
 * The shell migrates lazily: a run of version k is moved the next time λ journey touches it (its
 * wake-up or one of its events), before anything else happens to it, which is the same as moving every
 * run at once because a waiting run does nothing until then. Chains follow: runs of version 1 migrated
 * by version 3, whose runs version 5 migrates, go 1 → 3 → 5.
 */
import { walkSteps, type JourneyDef, type JourneyMigrate, type Step } from '../definitions';
import type { Run, StepOutcome } from './machine';

const isWait = (s: Step | undefined): s is Extract<Step, { type: 'wait' | 'waitUntil' }> => s?.type === 'wait' || s?.type === 'waitUntil';

function stepsById(def: Pick<JourneyDef, 'steps'>): Map<string, Step> {
  return new Map(walkSteps(def.steps).map(({ step }) => [step.id, step]));
}

/** What the apply knows about the versions a `migrate` names. */
export interface MigrationContext {
  /** The version the document becomes. */
  version: number;
  /** Version `from`'s document; null when no such version is stored. */
  from: Pick<JourneyDef, 'steps'> | null;
  /** The version that already migrated `from`'s runs, if any. */
  migratedTo?: number;
  /** Runs of versions up to this one were ended by an archive or a delete. */
  endedThrough: number;
}

/** One problem of a migration, with its path in the document (`migrate.map.pause`). */
export interface MigrationIssue {
  path: (string | number)[];
  message: string;
}

/** Every problem of `m` for the document `to` becoming version `ctx.version`; [] when the migration is sound. */
export function checkMigration(m: JourneyMigrate, to: Pick<JourneyDef, 'steps'>, ctx: MigrationContext): MigrationIssue[] {
  const issues: MigrationIssue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ path: ['migrate', ...path], message });
  const k = m.from;
  if (k >= ctx.version) {
    add(['from'], `version ${k} is not an earlier version (this document becomes version ${ctx.version})`);
    return issues;
  }
  if (!ctx.from) {
    add(['from'], `there is no version ${k} of this journey`);
    return issues;
  }
  if (ctx.migratedTo !== undefined) {
    add(['from'], `the runs of version ${k} were already moved to version ${ctx.migratedTo} (its migrate); remove migrate, or migrate from ${ctx.migratedTo}`);
    return issues;
  }
  if (k <= ctx.endedThrough) {
    add(['from'], `version ${k} was archived: its runs have ended, there is nothing to migrate`);
    return issues;
  }
  const old = stepsById(ctx.from);
  const now = stepsById(to);
  for (const from of Object.keys(m.map)) {
    const s = old.get(from);
    if (!s) add(['map', from], `version ${k} has no step "${from}"`);
    else if (!isWait(s)) add(['map', from], `step "${from}" of version ${k} is not a wait: runs only rest at waits, so only waits are mapped`);
  }
  for (const s of old.values()) {
    if (!isWait(s) || Object.hasOwn(m.map, s.id)) continue;
    const same = now.get(s.id);
    if (!same) add(['map', s.id], `runs of version ${k} waiting at "${s.id}" have nowhere to go: this version has no step "${s.id}"; map it to a wait step`);
    else if (!isWait(same))
      add(['map', s.id], `runs of version ${k} waiting at "${s.id}" have nowhere to go: "${s.id}" is not a wait here; map it to a wait step`);
  }
  return issues;
}

/**
 * The run moved onto version `toVersion` (`to`, with its `migrate.map`), or null when it cannot be
 * (not active, or its wait has no image that is a wait of `to`: left on its version, never guessed).
 */
export function migrateRun(run: Run, to: Pick<JourneyDef, 'steps'>, map: Record<string, string>, toVersion: number): { run: Run; outcome: StepOutcome } | null {
  if (run.status !== 'active') return null;
  const w = run.waiting;
  const outcome = (stepId: string | null): StepOutcome => ({ stepId, action: 'run', outcome: 'migrated', reason: `to_version_${toVersion}` });
  if (!w) return { run: { ...run, journeyVersion: toVersion }, outcome: outcome(null) };
  // Held for its send window (docs/journeys.md#governance): at a message step of its own version, which
  // it sends there; it moves at its next wait.
  if (w.kind === 'quiet') return null;
  const target = Object.hasOwn(map, w.stepId) ? map[w.stepId]! : w.stepId;
  const step = stepsById(to).get(target);
  if (!isWait(step)) return null;
  // The schedule stays: the resume it sends is recognised by its name (machine.ts resumeScheduleName).
  return { run: { ...run, journeyVersion: toVersion, waiting: { ...w, stepId: step.id, kind: step.type } }, outcome: outcome(w.stepId) };
}
