/**
 * Erasure of a profile's links in the coupons table (docs/privacy.md, shared/privacy/stores.ts): the
 * profile's holder item lists every issue and first redemption that named it (written before them,
 * store.ts), so no scan is needed. Each code keeps its status (`issuedAt`, `redeemedAt`: never issued
 * again, still counted by the pool and the journey report) without the profile id; the issue items
 * go; the holder item goes last, so a run cut short is finished by the next one (every step is
 * conditional on the profile id: a re-run changes nothing already done).
 */
import type { CouponStore } from './store';

/** Removes `profileId` from the table; how many items it removed it from (issue items deleted, code items changed). */
export async function eraseCouponHolder(store: CouponStore, profileId: string): Promise<number> {
  const holder = await store.getHolder(profileId);
  if (!holder) return 0;
  let n = 0;
  const codes = new Set(holder.redeemed);
  const issues = [];
  for (const { runId, stepId } of holder.issues) {
    const issue = await store.getIssue(runId, stepId);
    if (issue?.profileId !== profileId) continue;
    issues.push(issue);
    if (issue.canonical) codes.add(issue.canonical);
  }
  for (const canonical of codes) if (await store.forgetProfile(canonical, profileId)) n++;
  for (const { runId, stepId } of issues) if (await store.deleteIssue(runId, stepId, profileId)) n++;
  await store.deleteHolder(profileId);
  return n;
}
