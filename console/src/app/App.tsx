/**
 * Routes: signed out, the sign-in page whatever the address (the address is kept, so signing in
 * lands where the link pointed); signed in, the shell around the page. Pages are loaded on demand
 * (pages.ts), so the charting, flow and editor libraries are fetched only by the pages that draw them.
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Suspense, useEffect, useRef } from 'react';
import { Route, Switch, useLocation } from 'wouter';
import { ApiError } from '../api/client';
import { useSession } from '../api/use-session';
import { Loading } from '../components/Status';
import { type SignInProblem, SignInPage } from '../pages/SignIn';
import {
  Catalogue,
  Health,
  Journey,
  Journeys,
  NotFound,
  Overview,
  Privacy,
  Profile,
  Profiles,
  Quarantine,
  Reports,
  Segment,
  SegmentBuilder,
  Segments,
  Sources,
} from './pages';
import { prefetchPages } from './prefetch';
import { Shell } from './Shell';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      // A 4xx will answer the same again; a network failure or 5xx is worth another try.
      retry: (n, e) => n < 2 && !(e instanceof ApiError && e.status < 500),
    },
  },
});

/** Moves focus to the page's main region after client navigation, as a page load would (screen readers, keyboard). */
function FocusOnNavigate() {
  const [location] = useLocation();
  const shown = useRef(location);
  useEffect(() => {
    if (shown.current === location) return;
    shown.current = location;
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [location]);
  return null;
}

export function App({ signInProblem = null }: { signInProblem?: SignInProblem | null }) {
  const session = useSession();
  useEffect(() => {
    if (!session) queryClient.clear();
  }, [session]);
  const signedIn = Boolean(session);
  useEffect(() => (signedIn ? prefetchPages() : undefined), [signedIn]);
  if (!session) return <SignInPage problem={signInProblem} />;
  return (
    <QueryClientProvider client={queryClient}>
      <FocusOnNavigate />
      <Shell>
        <Suspense fallback={<Loading />}>
          <Switch>
            <Route path="/" component={Overview} />
            <Route path="/profiles" component={Profiles} />
            <Route path="/profiles/:id" component={Profile} />
            <Route path="/segments" component={Segments} />
            <Route path="/segments/new" component={SegmentBuilder} />
            <Route path="/segments/:id/edit" component={SegmentBuilder} />
            <Route path="/segments/:id" component={Segment} />
            <Route path="/journeys" component={Journeys} />
            <Route path="/journeys/:id">{(p: { id: string }) => <Journey id={decodeURIComponent(p.id)} />}</Route>
            <Route path="/reports">{() => <Reports />}</Route>
            <Route path="/reports/:name">{(p: { name: string }) => <Reports name={p.name} />}</Route>
            <Route path="/data/sources" component={Sources} />
            <Route path="/data/events" component={Catalogue} />
            <Route path="/data/quarantine" component={Quarantine} />
            <Route path="/data/health" component={Health} />
            <Route path="/data/privacy" component={Privacy} />
            <Route component={NotFound} />
          </Switch>
        </Suspense>
      </Shell>
    </QueryClientProvider>
  );
}
