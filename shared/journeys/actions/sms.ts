/** SMS through SNS Publish to a phone number (locally the outbox serves the same API). */
import { PublishCommand } from '@aws-sdk/client-sns';
import { sns } from '../../aws/clients';
import { renderTemplate } from '../../definitions';
import { contactOf } from '../profile';
import type { ActionInput, ActionResult } from './types';

const E164 = /^\+[1-9]\d{6,14}$/;

export function renderSms(input: ActionInput): { to?: string; text: string } {
  const step = input.step;
  if (step.action !== 'sms') throw new Error('not an SMS step');
  const to = step.to ? renderTemplate(step.to, input.template).replace(/[\s().-]/g, '') : contactOf(input.profile, 'phone');
  return { ...(to ? { to } : {}), text: renderTemplate(step.text, input.template) };
}

/** The E.164 number the SMS would go to, when it is one (else the step is skipped `no_address`). */
export function smsRecipient(input: ActionInput): string | undefined {
  const to = renderSms(input).to;
  return to && E164.test(to) ? to : undefined;
}

export async function sendSms(input: ActionInput): Promise<ActionResult> {
  const m = renderSms(input);
  if (!m.to || !E164.test(m.to)) return { status: 'failed', reason: 'no_address' };
  if (!m.text.trim()) return { status: 'failed', reason: 'empty_message' };
  const res = await sns().send(
    new PublishCommand({
      PhoneNumber: m.to,
      Message: m.text,
      MessageAttributes: { 'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' } },
    }),
  );
  return { status: 'sent', ...(res.MessageId ? { result: res.MessageId } : {}) };
}
