/**
 * Performing one action step exactly as often as it may be: the ledger claim comes BEFORE the send.
 *
 * - email, SMS, webhook: at most once per run and step. The claim (`sending`) is a conditional put;
 *   only the invocation that made it sends. A retry that finds the claim does not send again, even
 *   when the claim is still `sending` (the first attempt crashed between claim and outcome: the
 *   message may or may not have left, and a duplicate email/SMS is worse than a missing one). Such
 *   a claim stays `sending` in the ledger, visible, and is not counted.
 * - traits, event: at least once, deduplicated downstream. Their message has a messageId derived
 *   from run and step, so a retry that finds `sending` sends again and normalize drops the copy.
 * - coupon: like traits and event, and the code is the run's own (shared/coupons issueCoupon finds
 *   the issue an earlier attempt recorded), so a retry writes the same code again.
 * - skipped: no consent (decided by the machine), or no address for an email/SMS (`no_address`,
 *   decided here before any claim), or no coupon (an empty pool, or a message needing a code the run
 *   lacks): recorded `skipped` directly, counted, never a failure.
 *
 * Counters (`step#<id>#sent|failed|skipped`) are added only by the invocation whose ledger
 * transition succeeded, so retries never count twice.
 */
import type { CouponStore } from '../../coupons';
import { log } from '../../log';
import type { JourneyStore, LedgerItem } from '../store';
import { couponSender } from './coupon';
import { stepStat } from '../store';
import { emailRecipient, sendEmail } from './email';
import { putOnRawStream, sendToPipeline } from './pipeline';
import { sendSms, smsRecipient } from './sms';
import type { ActionInput, ActionResult, ActionSender } from './types';
import { sendWebhook, type WebhookSettings } from './webhook';

export type { ActionInput, ActionResult, ActionSender } from './types';

/** One sender per action; `coupon` only where coupon pools are wired (a coupon step fails `no_coupon_store` elsewhere). */
export type Senders = Record<'email' | 'sms' | 'webhook' | 'traits' | 'event', ActionSender> & { coupon?: ActionSender };

/** What the senders take from the deployment (functions/journey reads it from its environment). */
export interface ActionSettings {
  /** Sender of an email whose step names none (CAIRN_EMAIL_FROM); unset: such an email fails `no_sender`. */
  emailFrom: string | undefined;
  /** The raw stream trait and event actions go on. */
  rawStream: string;
  /** Base backoff of its PutRecords retries (CAIRN_KINESIS_BACKOFF_MS, 50 ms). */
  kinesisBackoffMs: number;
  webhook: WebhookSettings;
  /** Coupon pools (the coupons table): where coupon steps take their codes. */
  coupons: CouponStore;
}

/** SES email, SNS SMS, signed webhooks, and traits and events through the pipeline. */
export function actionSenders(settings: ActionSettings): Senders {
  const pipeline: ActionSender = (input) => sendToPipeline(input, settings.rawStream, settings.kinesisBackoffMs);
  return {
    email: (input) => sendEmail(input, settings.emailFrom),
    sms: sendSms,
    webhook: (input) => sendWebhook(input, settings.webhook),
    traits: pipeline,
    event: pipeline,
    coupon: couponSender(settings.coupons, (message, now) => putOnRawStream(message, now, settings.rawStream, settings.kinesisBackoffMs)),
  };
}

const RESEND_SAFE = new Set(['traits', 'event', 'coupon']);

/** Where an email/SMS would go: none usable (no email/phone, not a valid one) is a skip, not a failure. */
const RECIPIENT: Partial<Record<string, (input: ActionInput) => string | undefined>> = { email: emailRecipient, sms: smsRecipient };

/** Why the action is skipped before anything is claimed or sent: no consent (from the machine), or no address. */
function skipReason(input: ActionInput, skip: string | undefined): string | undefined {
  if (skip) return skip;
  const recipient = RECIPIENT[input.step.action];
  return recipient && !recipient(input) ? 'no_address' : undefined;
}

export interface ActionOutcome {
  /** What happened in this invocation: `duplicate` when an earlier invocation owns the action. */
  status: 'sent' | 'failed' | 'skipped' | 'duplicate';
  reason?: string;
  stats: Record<string, number>;
  /** A duplicate's ledger entry as this invocation read it (absent when it read none). */
  ledger?: LedgerItem;
}

export async function performAction(store: JourneyStore, input: ActionInput, senders: Senders, skip?: string): Promise<ActionOutcome> {
  const { step, runId } = input;
  const claimedAt = new Date(input.now).toISOString();
  const why = skipReason(input, skip);
  if (why) {
    const ok = await store.claim({ runId, stepId: step.id, action: step.action, status: 'skipped', claimedAt, reason: why });
    // A missing address is also counted journey-wide (`no_address` in the stats), like `no_consent` entries.
    const stats = { [stepStat(step.id, 'skipped')]: 1, ...(why === 'no_address' ? { no_address: 1 } : {}) };
    return ok ? { status: 'skipped', reason: why, stats } : { status: 'duplicate', stats: {} };
  }
  let mine = await store.claim({ runId, stepId: step.id, action: step.action, status: 'sending', claimedAt });
  if (!mine) {
    const prior = await store.getLedger(runId, step.id);
    if (!(prior?.status === 'sending' && RESEND_SAFE.has(step.action))) return { status: 'duplicate', stats: {}, ...(prior ? { ledger: prior } : {}) };
    mine = true;
  }
  let result: ActionResult;
  try {
    const send = senders[step.action];
    result = send ? await send(input) : { status: 'failed', reason: 'no_coupon_store' };
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    log('warn', 'journey action failed', {
      journeyId: input.journey.id,
      stepId: step.id,
      action: step.action,
      error: err.name,
      status: err.$metadata?.httpStatusCode,
    });
    result = { status: 'failed', reason: `error_${(err.name || 'unknown').replace(/[^A-Za-z0-9_]/g, '_')}` };
  }
  const settled = await store.settle(runId, step.id, {
    status: result.status,
    ...(result.reason !== undefined ? { reason: result.reason } : {}),
    ...(result.attempts !== undefined ? { attempts: result.attempts } : {}),
    ...(result.result !== undefined ? { result: result.result } : {}),
  });
  if (!settled) return { status: 'duplicate', stats: {} };
  if (result.status === 'failed')
    log('warn', 'journey action dead-lettered', {
      journeyId: input.journey.id,
      stepId: step.id,
      action: step.action,
      reason: result.reason,
      attempts: result.attempts,
    });
  return {
    status: result.status,
    ...(result.reason ? { reason: result.reason } : {}),
    stats: { [stepStat(step.id, result.status)]: 1 },
  };
}
