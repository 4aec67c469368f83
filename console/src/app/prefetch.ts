/**
 * After sign-in, while the browser is idle, the pages' own scripts (chart, flow, editor and grammar
 * libraries) are fetched one after another, so a first visit to a report or a journey waits for its
 * data only, not for ~200 KB of script too. They stay out of the first load (the bundle budget,
 * docs/console.md#bundle-budget): the sign-in page and the overview never wait for them. A page
 * whose script is in draws at once (lazy.tsx).
 */
import * as P from './pages';

const PAGE_SCRIPTS: readonly (() => Promise<unknown>)[] = [
  P.Reports.preload,
  () => import('../pages/Reports').then((m) => Promise.all(Object.values(m.REPORT_PARTS).map((r) => r.preload()))),
  // The charts' library, which a report loads once its figures are in (Chart.tsx).
  () => import('../reports/echarts'),
  P.Journeys.preload,
  P.Journey.preload,
  () => import('../pages/Journey').then((m) => Promise.all([m.JourneyFlow.preload(), m.YamlEditor.preload()])),
  () => import('../journeys/validate'),
  P.Segments.preload,
  P.Segment.preload,
  P.Profiles.preload,
  P.Profile.preload,
  P.Catalogue.preload,
  P.Health.preload,
  P.Sources.preload,
  P.Quarantine.preload,
  P.Privacy.preload,
  P.SegmentBuilder.preload,
  () => import('../pages/SegmentBuilder').then((m) => m.YamlEditor.preload()),
];

type Idle = (cb: () => void, opts?: { timeout: number }) => number;

/** Starts the prefetch; the returned function stops it (sign-out). Failures are ignored: the page loads its script itself. */
export function prefetchPages(scripts = PAGE_SCRIPTS): () => void {
  let stopped = false;
  const idle: Idle = (globalThis as { requestIdleCallback?: Idle }).requestIdleCallback ?? ((cb) => setTimeout(cb, 200) as unknown as number);
  const next = (i: number) => {
    if (stopped || i >= scripts.length) return;
    idle(
      () => {
        if (stopped) return;
        scripts[i]!().then(
          () => next(i + 1),
          () => next(i + 1),
        );
      },
      { timeout: 2_000 },
    );
  };
  next(0);
  return () => {
    stopped = true;
  };
}
