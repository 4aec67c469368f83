/** RFM scores and lifecycle stage: the pure model (rfm, lifecycle, values), λ scores (run) and its part in an unmerge (unmerge). */
export * from './rfm';
export * from './lifecycle';
export * from './values';
export { runScores, lastOrderAt, scoresHandler, type LiveProfiles, type ScoresDeps, type ScoresOptions, type ScoresResult } from './run';
export { scoresUnmergeHooks } from './unmerge';
