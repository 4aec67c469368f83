/**
 * The coupon action (docs/journeys.md#coupons): issue the run a code of the step's pool
 * (shared/coupons issueCoupon: one per run and step, never one code twice), then write it on the
 * profile the way the traits action does — an `identify` with trait `<step.trait>` on the raw stream,
 * its messageId derived from run and step, so a retry re-sends the same message and normalize drops
 * it. The identify also carries `context.cairn.coupon: {pool, code}`, which the journey report reads.
 *
 * An empty pool skips the step (`no_coupon`, counted; the run goes on); a pool never loaded fails it
 * (`no_pool`: a journey pointing at a pool that does not exist is a mistake to alarm on). A later
 * message whose template needs `{{ coupon.* }}` (without a `| default:`) is skipped `no_coupon` when
 * the run has no code, so nobody gets "use code  for 50 off".
 */
import { issueCoupon, type CouponStore } from '../../coupons';
import { stepTemplates, parseTemplate, walkSteps, type ActionStep, type JourneyDef, type JsonObject } from '../../definitions';
import { log } from '../../log';
import { countBy, METRIC } from '../../metrics';
import { messageIdentity } from '../profile';
import type { JourneyStore } from '../store';
import { actionMessageId } from './pipeline';
import type { ActionSender } from './types';

/** `put`: how the identify reaches the raw stream (putOnRawStream with the deployment's stream). */
export function couponSender(coupons: CouponStore, put: (message: JsonObject, now: number) => Promise<void>): ActionSender {
  return async (input) => {
    const step = input.step;
    if (step.action !== 'coupon') throw new Error('not a coupon step');
    const who = messageIdentity(input.profile);
    // Without an identifier the code could not reach the profile: issue none.
    if (!who) return { status: 'failed', reason: 'no_identifier' };
    const out = await issueCoupon(
      coupons,
      step.pool,
      {
        journeyId: input.journey.id,
        stepId: step.id,
        runId: input.runId,
        profileId: input.profile.profileId,
        ...(input.version !== undefined ? { version: input.version } : {}),
      },
      input.now,
    );
    if (out.status !== 'issued') {
      if (out.status === 'no_pool') return { status: 'failed', reason: 'no_pool' };
      // Empty is as low as a pool gets: the low-pool alarm stays on while steps find it dry.
      countBy(METRIC.couponsLow, out.pool);
      log('warn', 'coupon pool empty: coupon step skipped', { journeyId: input.journey.id, stepId: step.id, pool: step.pool });
      return { status: 'skipped', reason: 'no_coupon' };
    }
    if (out.fresh && out.low) {
      countBy(METRIC.couponsLow, out.pool);
      log('warn', 'coupon pool low', { pool: out.pool, remaining: out.remaining });
    }
    const message: JsonObject = {
      ...who,
      type: 'identify',
      messageId: actionMessageId(input.runId, step.id),
      timestamp: new Date(input.now).toISOString(),
      traits: { [step.trait]: out.code },
      context: { cairn: { journeyId: input.journey.id, stepId: step.id, runId: input.runId, coupon: { pool: out.pool, code: out.code } } },
    };
    await put(message, input.now);
    return { status: 'sent', result: out.pool };
  };
}

/** Whether a step's templates use `{{ coupon.* }}`: not at all, only with a `| default:`, or needing a code. */
export function couponUse(step: ActionStep): 'none' | 'optional' | 'required' {
  let use: 'none' | 'optional' | 'required' = 'none';
  for (const [, t] of stepTemplates(step))
    for (const p of parseTemplate(t).parts)
      if (typeof p !== 'string' && p.root === 'coupon') {
        if (!p.filters.some((f) => f.name === 'default')) return 'required';
        use = 'optional';
      }
  return use;
}

/**
 * The `coupon` a step's templates see: the code the run's coupon steps issued (the latest, when
 * several did), read from the issues of those steps whose action was sent. `skip: 'no_coupon'` when
 * the templates need one and the run has none.
 */
export async function couponTemplate(
  coupons: CouponStore | undefined,
  ledger: Pick<JourneyStore, 'getLedger'>,
  def: JourneyDef,
  step: ActionStep,
  runId: string,
): Promise<{ coupon?: { code: string; pool: string }; skip?: 'no_coupon' }> {
  const use = couponUse(step);
  if (use === 'none') return {};
  const steps = walkSteps(def.steps)
    .map((s) => s.step)
    .filter((s) => s.type === 'action' && s.action === 'coupon' && s.id !== step.id);
  const issued = coupons
    ? await Promise.all(steps.map(async (s) => ((await ledger.getLedger(runId, s.id))?.status === 'sent' ? coupons.getIssue(runId, s.id) : null)))
    : [];
  const latest = issued.filter((x): x is NonNullable<typeof x> => x !== null && x.code !== '').sort((a, b) => (a.issuedAt < b.issuedAt ? 1 : -1))[0];
  if (latest) return { coupon: { code: latest.code, pool: latest.pool } };
  return use === 'required' ? { skip: 'no_coupon' } : {};
}
