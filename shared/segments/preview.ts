/**
 * A segment's size before it is saved (`POST /v1/segments/preview`, the console's estimate): the
 * live profiles, page by page as a sweep reads them, each settled exactly as a sweep would settle it
 * once the segment is applied (`settleProfile` with the running definitions plus this one, at
 * `now`). So the size a finished preview answers is the size the sweep after `PUT` gives, for the
 * same profiles at the same time.
 *
 * Event conditions count from when their definition is applied (docs/segments.md): one no running
 * definition counts yet reads no events before the save, here and in the sweep alike; `startsEmpty`
 * names them so the console can say so.
 *
 * A preview stops after `budgetMs` and answers a cursor; the next call continues from it (the
 * console shows the progress and adds the pages up): a large table is read in several requests,
 * each well inside λ admin's timeout.
 */
import type { Definition, SegmentDef } from '../definitions';
import type { ProfilePages } from './recheck';
import { compileRuntime } from './runtime';
import { settleProfile } from './state';

export interface PreviewPage {
  /** Profiles read and, among them, the members. */
  scanned: number;
  matched: number;
  /** Up to `sample` members' profile ids. */
  sample: string[];
  /** Pass back to continue; null when the table has been read to its end. */
  cursor: string | null;
  /** Event conditions of the segment that no running definition counts yet (they read no history). */
  startsEmpty: { event: string; withinMs?: number }[];
}

export interface PreviewOptions {
  now: number;
  cursor?: string;
  /** Stop reading pages after this long (default 4 s: λ admin has 10 s). */
  budgetMs?: number;
  /** Member ids to return (default 10). */
  sample?: number;
  /** The clock the budget is measured with (tests). */
  clock?: () => number;
}

export async function previewSegment(def: SegmentDef, running: Definition[], pages: ProfilePages, opts: PreviewOptions): Promise<PreviewPage> {
  const others = running.filter((d) => !(d.kind === 'segment' && d.id === def.id));
  const rt = compileRuntime([...others, def]);
  const counting = new Set(compileRuntime(others).counters.map((c) => c.key));
  const startsEmpty = rt.counters
    .filter((c) => !counting.has(c.key) && conditionKeys(def).has(c.key))
    .map((c) => ({ event: c.def.event, ...(c.def.windowMs !== undefined ? { withinMs: c.def.windowMs } : {}) }));
  const clock = opts.clock ?? Date.now;
  const started = clock();
  const budget = opts.budgetMs ?? 4_000;
  const want = opts.sample ?? 10;
  let after = opts.cursor;
  let scanned = 0;
  let matched = 0;
  const sample: string[] = [];
  for (;;) {
    const page = await pages(after);
    for (const p of page.profiles) {
      scanned++;
      if (!settleProfile(p, rt, opts.now).segments.includes(def.id)) continue;
      matched++;
      if (sample.length < want) sample.push(p.profileId);
    }
    after = page.last;
    if (after === undefined) return { scanned, matched, sample, cursor: null, startsEmpty };
    if (clock() - started >= budget) return { scanned, matched, sample, cursor: after, startsEmpty };
  }
}

/** Counter keys of the segment's own event conditions. */
function conditionKeys(def: SegmentDef): Set<string> {
  return new Set(compileRuntime([def]).counters.map((c) => c.key));
}
