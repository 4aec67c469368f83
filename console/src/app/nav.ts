/**
 * The console's pages, grouped as the navigation shows them. Each names the admin route it reads
 * (`needs`, as shared/admin/roles.ts's ROUTE_ACCESS keys it): the menu lists only the pages the
 * signed-in user's roles may read.
 */
import type { Session } from '../api/session';
import { may } from '../auth/may';

export interface NavItem {
  path: string;
  label: 'overview' | 'profiles' | 'segments' | 'journeys' | 'reports' | 'sources' | 'catalogue' | 'quarantine' | 'health' | 'privacy';
  needs: string;
}
export interface NavGroup {
  label: 'customers' | 'audiences' | 'data' | null;
  items: NavItem[];
}

/** Reports and the data pages are lake queries. */
const LAKE = 'POST /v1/lake/queries';

export const NAV: NavGroup[] = [
  { label: null, items: [{ path: '/', label: 'overview', needs: 'GET /v1/segments' }] },
  { label: 'customers', items: [{ path: '/profiles', label: 'profiles', needs: 'GET /v1/profiles' }] },
  {
    label: 'audiences',
    items: [
      { path: '/segments', label: 'segments', needs: 'GET /v1/segments' },
      { path: '/journeys', label: 'journeys', needs: 'GET /v1/journeys' },
    ],
  },
  { label: null, items: [{ path: '/reports', label: 'reports', needs: LAKE }] },
  {
    label: 'data',
    items: [
      { path: '/data/sources', label: 'sources', needs: 'GET /v1/sources' },
      { path: '/data/events', label: 'catalogue', needs: LAKE },
      { path: '/data/quarantine', label: 'quarantine', needs: LAKE },
      { path: '/data/health', label: 'health', needs: LAKE },
      { path: '/data/privacy', label: 'privacy', needs: LAKE },
    ],
  },
];

/** The navigation as `session` may see it: groups left without a page are dropped. */
export function navFor(session: Session | null): NavGroup[] {
  return NAV.map((g) => ({ ...g, items: g.items.filter((i) => may(session, i.needs)) })).filter((g) => g.items.length > 0);
}
