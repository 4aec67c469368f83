/**
 * Journey helpers the runtime needs besides the grammar: finding steps by id, and the deterministic
 * holdout assignment (`holdout: 10%`).
 */
import { createHash } from 'node:crypto';
import { walkSteps } from './schema-steps';
import type { JourneyDef, Step } from './types';

/** The step with this id (declared or derived), anywhere in the journey. */
export function findStep(journey: Pick<JourneyDef, 'steps'>, id: string): Step | undefined {
  return walkSteps(journey.steps).find((s) => s.step.id === id)?.step;
}

/** Every step id of the journey, depth first (for per-step stats). */
export function stepIds(journey: Pick<JourneyDef, 'steps'>): string[] {
  return walkSteps(journey.steps).map((s) => s.step.id);
}

/**
 * Whether a person is in the journey's holdout group: a stable hash of journey id and profile id
 * mapped to [0, 100); the same person is always in or out for a given journey.
 */
export function inHoldout(journey: Pick<JourneyDef, 'id' | 'holdout'>, profileId: string): boolean {
  if (!journey.holdout) return false;
  const h = createHash('sha256').update(`${journey.id}\u0000${profileId}`).digest();
  const x = h.readUInt32BE(0) / 2 ** 32;
  return x * 100 < journey.holdout;
}
