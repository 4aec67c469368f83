/**
 * λ scores in an unmerge (UnmergeHooks, shared/identity/unmerge.ts). The daily run keeps, beside a
 * profile's scores, the order count its `last_order_at` was looked up for (`scoresOrders`, run.ts)
 * and reuses that date while the count is unchanged. After an unmerge the survivor's date may be the
 * other person's order (and its count, once the survivor orders again, the cached one), so both
 * sides forget the count in the unmerge's own writes: the next run looks each side's last order up
 * on its own timeline and rescores it. The scores themselves stay until then (docs/identity.md,
 * Residual risks).
 */
import type { ProfileRecord, UnmergeHooks } from '../identity';
import { SCORES_ORDERS_ATTR } from './values';

function forgetLastOrder(p: ProfileRecord): void {
  if (!p.extra || !Object.hasOwn(p.extra, SCORES_ORDERS_ATTR)) return;
  const { [SCORES_ORDERS_ATTR]: _, ...rest } = p.extra;
  p.extra = rest;
}

export function scoresUnmergeHooks(): UnmergeHooks {
  return {
    prepare: async () => ({ survivor: forgetLastOrder, revived: forgetLastOrder }),
    afterSplit: async () => {},
  };
}
