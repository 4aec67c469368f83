/**
 * Routes: signed out, the sign-in page whatever the address (the address is kept, so signing in
 * lands where the link pointed); signed in, the shell around the page. Pages are loaded on demand
 * (React.lazy), so the charting, flow and editor libraries are fetched only by the pages that draw them.
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useRef } from 'react';
import { Route, Switch, useLocation } from 'wouter';
import { ApiError } from '../api/client';
import { useSession } from '../api/session';
import { Loading } from '../components/Status';
import { SignInPage } from '../pages/SignIn';
import { Shell } from './Shell';

const Overview = lazy(() => import('../pages/Overview'));
const Coming = lazy(() => import('../pages/Coming'));
const Profiles = lazy(() => import('../pages/Profiles'));
const Profile = lazy(() => import('../pages/Profile'));
const Segments = lazy(() => import('../pages/Segments'));
const Segment = lazy(() => import('../pages/Segment'));
const SegmentBuilder = lazy(() => import('../pages/SegmentBuilder'));
const NotFound = lazy(() => import('../pages/NotFound'));

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

export function App() {
  const session = useSession();
  useEffect(() => {
    if (!session) queryClient.clear();
  }, [session]);
  if (!session) return <SignInPage />;
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
            <Route path="/journeys">{() => <Coming label="journeys" />}</Route>
            <Route path="/reports">{() => <Coming label="reports" />}</Route>
            <Route path="/data/sources">{() => <Coming label="sources" />}</Route>
            <Route path="/data/events">{() => <Coming label="catalogue" />}</Route>
            <Route path="/data/quarantine">{() => <Coming label="quarantine" />}</Route>
            <Route path="/data/health">{() => <Coming label="health" />}</Route>
            <Route path="/data/privacy">{() => <Coming label="privacy" />}</Route>
            <Route component={NotFound} />
          </Switch>
        </Suspense>
      </Shell>
    </QueryClientProvider>
  );
}
