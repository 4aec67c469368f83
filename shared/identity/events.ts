/**
 * What a resolve batch publishes (docs/api.md#events-on-the-bus): each applied message with
 * detail-type = its type (the normalised message plus a compact profile snapshot), and
 * `profile.merged` per merge; and the port it is published through (bus.ts puts it on EventBridge).
 */
import type { Plan } from './resolve';
import type { ProfileRecord } from './types';
import { busSnapshot } from './view';

export interface BusEvent {
  detailType: string;
  detail: Record<string, unknown>;
  /** Event time (the message's timestamp). */
  time?: string;
}

export interface Publisher {
  publish(events: BusEvent[]): Promise<void>;
}

export function busEvents(plan: Pick<Plan, 'outcomes' | 'merges'>, profiles: Map<string, ProfileRecord>): BusEvent[] {
  const out: BusEvent[] = [];
  for (const o of plan.outcomes) {
    if (!o.profileId) continue;
    const p = profiles.get(o.profileId);
    out.push({
      detailType: o.message.type,
      detail: { ...o.message, profile: p ? busSnapshot(p) : { profileId: o.profileId } },
      time: o.message.timestamp,
    });
  }
  for (const m of plan.merges) out.push({ detailType: 'profile.merged', detail: { survivor: m.survivor, merged: m.merged, messageId: m.messageId } });
  return out;
}
