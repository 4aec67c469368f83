/** Definitions grammar: parse, validate, evaluate, compile. See docs/definitions.md. */
export * from './types';
export { parseDuration, formatDuration, DURATION_HINT } from './duration';
export { getPath, valuesAt } from './path';
export { testValues, matchesFilters } from './match';
export { parseTemplate, renderTemplate, renderValue, templateExpressions, type TemplateContext, type RenderOptions } from './template';
export { validateDefinition, checkDefinition } from './schema';
export { definitionError, formatPath, type DefinitionIssue } from './issues';
export { walkSteps, stepTemplates } from './schema-steps';
export { parseDefinitions, checkDefinitions, checkFiles, loadDefinitions, readDocuments, nestingProblem, type ReadOptions } from './parse';
export { resolveVariables, hasVariables, type Variables } from './variables';
export { validateSet, checkSet, segmentOrder } from './set';
export {
  applyComputedTrait,
  computedTraitValue,
  valueAt,
  pruneComputedState,
  windowChangeTimes,
  bucketSize,
  counterKey,
  counterFor,
  eventCounters,
  eventConditions,
  conditionsOf,
  type ComputedState,
  type Bucket,
  type EventCounter,
  type MessageLike,
} from './computed';
export { evaluateCondition, evaluateSegments, nextChangeAt, countFor, type EvalContext, type EventQuery, type CountEvents } from './evaluate';
export { compileTrigger, compileEventPattern, BUS_SOURCE } from './trigger';
export { findStep, stepIds, inHoldout } from './journey';
export {
  activeLifecycle,
  contentHash,
  journeyHorizonMs,
  liveVersions,
  pausedUntil,
  HORIZON_MARGIN_MS,
  JOURNEY_STATUSES,
  type JourneyLifecycle,
  type JourneyStatus,
  type VersionTimes,
} from './versions';
export { POLICY_ID, MAX_CAP_WINDOW_MS } from './schema-policy';
export { ID_RE } from './schema-fields';
export { isTimeZone, localTime, offsetAt, instantsAt, firstInstantAt, type LocalTime } from './zone';
