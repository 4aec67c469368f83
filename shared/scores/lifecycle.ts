/**
 * Lifecycle stage of a person from their orders (pure). Thresholds in days since the last order:
 *
 *   prospect   no order yet
 *   new        one order, the last ACTIVE_DAYS days
 *   active     two or more orders, the last within ACTIVE_DAYS days
 *   lapsing    last order ACTIVE_DAYS+1 … LAPSED_DAYS days ago
 *   lapsed     last order more than LAPSED_DAYS days ago
 */
export const LIFECYCLE_STAGES = ['prospect', 'new', 'active', 'lapsing', 'lapsed'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const LIFECYCLE = { activeDays: 90, lapsedDays: 180 } as const;

export function lifecycleStage(orders: number, recencyDays: number | null): LifecycleStage {
  if (orders <= 0 || recencyDays === null) return 'prospect';
  if (recencyDays > LIFECYCLE.lapsedDays) return 'lapsed';
  if (recencyDays > LIFECYCLE.activeDays) return 'lapsing';
  return orders === 1 ? 'new' : 'active';
}
