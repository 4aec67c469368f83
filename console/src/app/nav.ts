/** The console's pages, grouped as the navigation shows them. `ready: false` pages show what is coming (docs/console.md). */
export interface NavItem {
  path: string;
  label: 'overview' | 'profiles' | 'segments' | 'journeys' | 'reports' | 'sources' | 'catalogue' | 'quarantine' | 'health' | 'privacy';
}
export interface NavGroup {
  label: 'customers' | 'audiences' | 'data' | null;
  items: NavItem[];
}

export const NAV: NavGroup[] = [
  { label: null, items: [{ path: '/', label: 'overview' }] },
  { label: 'customers', items: [{ path: '/profiles', label: 'profiles' }] },
  {
    label: 'audiences',
    items: [
      { path: '/segments', label: 'segments' },
      { path: '/journeys', label: 'journeys' },
    ],
  },
  { label: null, items: [{ path: '/reports', label: 'reports' }] },
  {
    label: 'data',
    items: [
      { path: '/data/sources', label: 'sources' },
      { path: '/data/events', label: 'catalogue' },
      { path: '/data/quarantine', label: 'quarantine' },
      { path: '/data/health', label: 'health' },
      { path: '/data/privacy', label: 'privacy' },
    ],
  },
];
