/**
 * The governance step λ journey takes before claiming a message in the action ledger
 * (docs/journeys.md#governance): the person's cap on the message's channel, across every journey.
 *
 * The slot is taken first (a conditional write of the person's send log, the check and the count in
 * one: sends.ts), then the action is claimed and sent. A slot taken for a message that then did not
 * go out (failed, skipped, or claimed by an earlier invocation that did not count it) is given back.
 * A retry of the same action finds its slot already taken and is not counted twice. A crash between
 * taking the slot and the claim leaves the slot taken; the retry (the pending action) uses it. Errors
 * go one way: a slot may be lost (never given back), a cap is never exceeded.
 */
import type { ActionStep, GovernedChannel, JourneyDef, PolicyDef } from '../../definitions';
import { log } from '../../log';
import { decideCap, type Send } from './caps';
import type { SendLog } from './sends';
import { governedChannel } from './window';

/** What λ journey needs to govern its messages: the deployment's policy (cached) and the send log. */
export interface Governance {
  /** The policy (`kind: policy`, id `default`), or null: no governance. */
  policy(): Promise<PolicyDef | null>;
  sends: SendLog;
}

const MAX_ATTEMPTS = 8;

/** The reason in the ledger (and the journey counter) of a message over a global cap. */
export const CAPPED_GLOBAL = 'capped_global';

export interface CapGate {
  /** `capped_global` when the message must not go out. */
  skip?: typeof CAPPED_GLOBAL;
  /** Called with what became of the message (performAction's status): gives the slot back unless it went out. */
  done(status: 'sent' | 'failed' | 'skipped' | 'duplicate'): Promise<void>;
}

const open: CapGate = { done: async () => {} };

/**
 * Takes a slot of the person's cap for action `step` of `runId` (or finds it taken by an earlier
 * attempt); `skip: capped_global` when the cap is reached for the journey's priority.
 */
export async function capGate(
  g: Governance | undefined,
  input: { journey: JourneyDef; step: ActionStep; runId: string; profileId: string; now: number },
): Promise<CapGate> {
  const policy = g && (await g.policy());
  const channel = policy && governedChannel(policy, input.step);
  const cap = channel && policy.channels[channel]?.cap;
  if (!g || !channel || !cap) return open;
  const send: Send = { id: `${input.runId}#${input.step.id}`, at: input.now, journeyId: input.journey.id, priority: input.journey.priority ?? 'normal' };
  const expiresAt = input.now + cap.perMs;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const cur = await g.sends.get(input.profileId, channel);
    const d = decideCap(cur?.sends ?? [], cap, send);
    if (!d.allowed) {
      log('info', 'journey message capped', { journeyId: input.journey.id, stepId: input.step.id, channel, used: d.used, slots: d.slots });
      return { skip: CAPPED_GLOBAL, done: async () => {} };
    }
    // The slot is this action's (taken now or by an earlier attempt): given back when this invocation
    // settled the action without sending it. A duplicate keeps it: the invocation that owns the claim
    // may have sent (a lost slot errs on the side of fewer messages, never more).
    const gate: CapGate = {
      done: (status) => (status === 'failed' || status === 'skipped' ? release(g, input.profileId, channel, send.id, cap.perMs) : Promise.resolve()),
    };
    if (!d.added || (await g.sends.put(input.profileId, channel, d.sends, cur?.version ?? 0, expiresAt))) return gate;
  }
  throw new Error(`send log of ${input.profileId} (${channel}) kept changing under ${MAX_ATTEMPTS} attempts; retry`);
}

/** Gives a slot back (best effort: a failure leaves the person one message short of the cap, never over it). */
async function release(g: Governance, profileId: string, channel: GovernedChannel, id: string, perMs: number): Promise<void> {
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await g.sends.get(profileId, channel);
      if (!cur?.sends.some((s) => s.id === id)) return;
      const rest = cur.sends.filter((s) => s.id !== id);
      const expiresAt = Math.max(0, ...rest.map((s) => s.at)) + perMs;
      if (await g.sends.put(profileId, channel, rest, cur.version, expiresAt)) return;
    }
  } catch (e) {
    log('warn', 'journey send slot not given back', { channel, error: (e as Error).name });
  }
}

/** A policy read through `read`, trusted for `ttlMs` (as journeys are: CAIRN_DEFINITIONS_TTL_MS); concurrent callers share a read. */
export function cachedPolicy(read: () => Promise<PolicyDef | null>, ttlMs: number, now: () => number = Date.now): () => Promise<PolicyDef | null> {
  let hit: { at: number; p: Promise<PolicyDef | null> } | undefined;
  return async () => {
    if (hit && now() - hit.at < ttlMs) return hit.p;
    const entry = { at: now(), p: read() };
    hit = entry;
    try {
      return await entry.p;
    } catch (e) {
      if (hit === entry) hit = undefined;
      throw e;
    }
  };
}
