/**
 * After sign-in, while the browser is idle, the pages' own scripts (chart, flow, editor and grammar
 * libraries) are fetched one after another, so a first visit to a report or a journey waits for its
 * data only, not for ~200 KB of script too. They stay out of the first load (the bundle budget,
 * docs/console.md#bundle-budget): the sign-in page and the overview never wait for them.
 */
const PAGE_SCRIPTS: readonly (() => Promise<unknown>)[] = [
  () => import('../pages/Reports'),
  () => import('../reports/Funnel'),
  () => import('../reports/Retention'),
  () => import('../reports/Rfm'),
  () => import('../reports/Lifecycle'),
  () => import('../reports/JourneyEffect'),
  () => import('../reports/Quality'),
  () => import('../pages/Journeys'),
  () => import('../pages/Journey'),
  () => import('../journeys/JourneyFlow'),
  () => import('../journeys/validate'),
  () => import('../pages/Segments'),
  () => import('../pages/Segment'),
  () => import('../pages/Profiles'),
  () => import('../pages/Profile'),
  () => import('../pages/data/Catalogue'),
  () => import('../pages/data/Health'),
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
