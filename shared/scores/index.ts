/** RFM scores and lifecycle stage: the pure model (rfm, lifecycle, values) and λ scores (run). */
export * from './rfm';
export * from './lifecycle';
export * from './values';
export { runScores, lastOrderAt, scoresHandler, type LiveProfiles, type ScoresDeps, type ScoresOptions, type ScoresResult } from './run';
