/**
 * A component whose module is fetched on first use, as with `React.lazy`, but that does not suspend:
 * until its module is there it draws the loading note itself. React 19 holds back what resolves under
 * a Suspense fallback until 300 ms after the fallback showed (its fallback throttle), so a page
 * behind `React.lazy` showed at least 300 ms after the click even when its script had been
 * prefetched; here a loaded module draws in the same render, and one still loading shows as soon as
 * it arrives. `preload()` fetches it ahead (prefetch.ts).
 */
import { type ComponentType, type JSX, useEffect, useState } from 'react';
import { ErrorNote, Loading } from '../components/Status';
import { lazyModule } from './lazy-module';

export type LazyComponent<P> = ((props: P) => JSX.Element) & { preload(): Promise<unknown> };

export function lazyComponent<P extends object>(load: () => Promise<{ default: ComponentType<P> }>): LazyComponent<P> {
  const page = lazyModule(load);
  // biome-ignore lint/correctness/noComponentHookFactories: a factory run once per page at module level (pages.ts), as React.lazy is
  function Lazy(props: P) {
    const [, arrived] = useState(0);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      if (page.loaded() || error) return;
      let live = true;
      page.preload().then(
        () => live && arrived((n) => n + 1),
        (e: unknown) => live && setError(e ?? new Error('failed to load')),
      );
      return () => {
        live = false;
      };
    }, [error]);
    const Loaded = page.loaded();
    if (Loaded) return <Loaded {...props} />;
    return error ? <ErrorNote error={error} retry={() => setError(null)} /> : <Loading />;
  }
  return Object.assign(Lazy, { preload: page.preload });
}
