/**
 * The lake pass in progress, kept between λ erase runs (docs/privacy.md "Runs that continue"): a run
 * stops before its deadline and the next one continues from the last key done.
 */
import type { LakeFailure } from './lake';

/** The privacy-table item holding the lake pass in progress. */
export const PASS_KEY = 'erasure-pass';

/** What a pass has done so far for one erasure (summed over the runs of the pass). */
export interface PassShare {
  /** Rows removed from events/, quarantine/ and profiles/, and the objects rewritten or deleted for them. */
  lakeRows: number;
  lakeObjectsRewritten: number;
  /** Records removed from failed batches (failed/, aws/lambda/), and the objects rewritten or deleted for them (absent in passes saved before). */
  batchRecords?: number;
  batchObjects?: number;
  /** Noncurrent versions removed of the objects rewritten or deleted for the person; those that could not be (they expire). */
  versionsDeleted?: number;
  versionsFailed?: number;
  /** Dedup markers deleted for removed rows whose message is not on the timeline. */
  extraMarkers: number;
  /** Failed objects that may hold the person's rows (the first MAX_LAKE_FAILURES by time; `failedObjects` counts all). */
  failures: LakeFailure[];
  failedObjects: number;
}
/** The lake pass in progress: erasures, mode, the last key done (keys are visited in order), shares. */
export interface PassState {
  ids: string[];
  mode: 'index' | 'full';
  after: string;
  scanned: number;
  failed: number;
  runs: number;
  shares: Record<string, PassShare>;
}

/** Where the pass is kept between runs (shared/privacy/dynamo-pass.ts: the `erasure-pass` item of the privacy table). */
export interface PassCursor {
  load(): Promise<PassState | undefined>;
  save(p: PassState): Promise<void>;
  /** Marks the pass through: the next run starts a new pass. */
  clear(): Promise<void>;
}
