/**
 * Schema of the policy (`kind: policy`, docs/journeys.md#governance): the deployment's rules across
 * journeys, per channel: a frequency cap with slots reserved for higher priorities, quiet hours and
 * send days in the person's time zone, and the zone of people whose own is unknown.
 */
import { z } from 'zod';
import { describe, type Add } from './issues';
import { common, durationSchema, flex, idSchema, strict, type DefinitionBase } from './schema-fields';
import { GOVERNED_CHANNELS, WEEKDAYS, type ChannelPolicy, type GovernedChannel, type PolicyDef } from './types';
import { isTimeZone } from './zone';

/** The one policy's id: it governs every journey, so there is one per deployment. */
export const POLICY_ID = 'default';

/** The longest cap window (a person's send log keeps that much history). */
export const MAX_CAP_WINDOW_MS = 366 * 86_400_000;

function timeOfDay(v: unknown, add: Add): number | undefined {
  const m = typeof v === 'string' ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(v) : null;
  if (!m) {
    add([], `${describe(v)} is not a time of day (HH:MM, 24-hour, e.g. "21:00"; quote it in YAML)`);
    return undefined;
  }
  return Number(m[1]) * 60 + Number(m[2]);
}

function zoneOf(v: unknown, add: Add): string | undefined {
  if (isTimeZone(v)) return v;
  add([], `${describe(v)} is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)`);
  return undefined;
}

const slots = z.number().int().min(0).max(100);
const capSchema = strict(
  {
    max: z.number().int().min(1).max(100),
    per: durationSchema,
    reserve: strict({ normal: slots.optional(), high: slots.optional() }, 'reserve').optional(),
  },
  'a cap',
);
const quietSchema = strict({ from: flex(timeOfDay), to: flex(timeOfDay) }, 'quiet hours');
const channelPolicySchema = strict(
  {
    cap: capSchema.optional(),
    quietHours: quietSchema.optional(),
    days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
  },
  'a channel policy',
);

export const policySchema = strict(
  {
    ...common,
    id: idSchema,
    timezone: flex(zoneOf).optional(),
    channels: strict(
      Object.fromEntries(GOVERNED_CHANNELS.map((c) => [c, channelPolicySchema.optional()])) as Record<
        GovernedChannel,
        z.ZodOptional<typeof channelPolicySchema>
      >,
      'channels',
    ),
  },
  'a policy',
);

export function policyDef(p: z.output<typeof policySchema>, base: DefinitionBase, add: Add): PolicyDef {
  if (p.id !== POLICY_ID)
    add(['id'], `must be ${JSON.stringify(POLICY_ID)}: the policy governs every journey, so a deployment has one (not ${describe(p.id)})`);
  const channels: PolicyDef['channels'] = {};
  for (const c of GOVERNED_CHANNELS) {
    const ch = p.channels[c];
    if (!ch) continue;
    const out: ChannelPolicy = {};
    if (ch.cap) {
      const reserve = { normal: ch.cap.reserve?.normal ?? 0, high: ch.cap.reserve?.high ?? 0 };
      if (reserve.normal + reserve.high > ch.cap.max)
        add(['channels', c, 'cap', 'reserve'], `reserves ${reserve.normal + reserve.high} slots of a cap of ${ch.cap.max}: reserve at most max`);
      if (ch.cap.per.ms > MAX_CAP_WINDOW_MS) add(['channels', c, 'cap', 'per'], `${ch.cap.per.text} is longer than a cap window may be (366d)`);
      out.cap = { max: ch.cap.max, per: ch.cap.per.text, perMs: ch.cap.per.ms, reserve };
    }
    if (ch.quietHours) {
      if (ch.quietHours.from === ch.quietHours.to)
        add(['channels', c, 'quietHours'], 'from and to are the same time: quiet hours need a start and a different end');
      out.quietHours = { from: ch.quietHours.from, to: ch.quietHours.to };
    }
    if (ch.days) out.days = [...new Set(ch.days.map((d) => WEEKDAYS.indexOf(d)))].sort((a, b) => a - b);
    channels[c] = out;
  }
  return { ...base, kind: 'policy', timezone: p.timezone ?? 'UTC', channels };
}
