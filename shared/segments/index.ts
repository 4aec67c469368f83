/**
 * Computed traits and segments (docs/segments.md): the runtime compiled from the applied definitions,
 * the state they keep on a profile, membership and its effects, λ resolve's and an unmerge's hooks and λ recheck. The
 * adapters are imported by their own paths: members.ts (the members index), schedule.ts (recheck
 * schedules), dynamo-profiles.ts (a sweep's scan of the profiles table).
 */
export {
  compileRuntime,
  defaultRuntimeLoader,
  definitionsTtlMs,
  EMPTY_RUNTIME,
  fixedRuntimeLoader,
  runtimeLoader,
  storedDefinitions,
  traitKey,
  type Accumulator,
  type DefinitionSet,
  type DefinitionSource,
  type RuntimeLoader,
  type SegmentRuntime,
} from './runtime';
export {
  computedValues,
  inheritedOf,
  mergeComputedState,
  profileExtension,
  publishedOf,
  settledDiffers,
  settleProfile,
  statesOf,
  storedSegments,
  withSettled,
  type Inherited,
  type Published,
  type Settled,
  type States,
} from './state';
export { applyEffects, applyEffectsBatch, effectsPending, retireMerged, segmentSnapshot, transitions, type EffectsDeps, type Transitions } from './effects';
export { segmentHooks, type SegmentHooksOptions } from './hooks';
export { segmentUnmergeHooks, type SegmentUnmergeOptions } from './unmerge';
export { recheckHandler, recheckProfile, settleLive, sweep, type ProfilePages, type RecheckDeps } from './recheck';
export { previewSegment, type PreviewOptions, type PreviewPage } from './preview';
export type { RecheckEvent, RecheckTarget } from './schedule';
export type { MembersPage, MembershipChange } from './members';
