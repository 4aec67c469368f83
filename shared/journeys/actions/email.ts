/** Email through SES v2 SendEmail (locally the outbox serves the same API). */
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { ses } from '../../aws/clients';
import { renderTemplate } from '../../definitions';
import { contactOf } from '../profile';
import type { ActionInput, ActionResult } from './types';

const EMAIL_RE = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;]+$|^[^\s@<>()",;]+@localhost$/;

/**
 * Rendered email: subject and text without escaping, the HTML part with every value HTML-escaped.
 * `defaultFrom` (CAIRN_EMAIL_FROM) is the sender when the step names none.
 */
export function renderEmail(input: ActionInput, defaultFrom?: string): { to?: string; from?: string; subject: string; text: string; html: string } {
  const step = input.step;
  if (step.action !== 'email') throw new Error('not an email step');
  const to = step.to ? renderTemplate(step.to, input.template).trim() : contactOf(input.profile, 'email');
  const from = step.from ?? defaultFrom;
  const subject = renderTemplate(step.subject, input.template).replace(/[\r\n]+/g, ' ');
  const text = renderTemplate(step.body, input.template);
  const html = renderTemplate(step.body, input.template, { escape: 'html' }).replace(/\n/g, '<br>\n');
  return { ...(to ? { to } : {}), ...(from ? { from } : {}), subject, text, html };
}

/** The address the email would go to, when it is one (else the step is skipped `no_address`). */
export function emailRecipient(input: ActionInput): string | undefined {
  const to = renderEmail(input).to;
  return to && EMAIL_RE.test(to) ? to : undefined;
}

export async function sendEmail(input: ActionInput, defaultFrom?: string): Promise<ActionResult> {
  const m = renderEmail(input, defaultFrom);
  if (!m.to || !EMAIL_RE.test(m.to)) return { status: 'failed', reason: 'no_address' };
  if (!m.from) return { status: 'failed', reason: 'no_sender' };
  const res = await ses().send(
    new SendEmailCommand({
      FromEmailAddress: m.from,
      Destination: { ToAddresses: [m.to] },
      Content: {
        Simple: {
          Subject: { Data: m.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: m.text, Charset: 'UTF-8' }, Html: { Data: m.html, Charset: 'UTF-8' } },
        },
      },
      EmailTags: [
        { Name: 'cairn_journey', Value: input.journey.id.replace(/[^A-Za-z0-9_-]/g, '_') },
        { Name: 'cairn_step', Value: input.step.id.replace(/[^A-Za-z0-9_-]/g, '_') },
      ],
    }),
  );
  return { status: 'sent', ...(res.MessageId ? { result: res.MessageId } : {}) };
}
