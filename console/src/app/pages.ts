/**
 * The pages, each loaded on demand (lazy.tsx): the first visit loads only the shell; prefetch.ts
 * fetches the rest when the browser is idle after sign-in. Parts of pages loaded on demand (the
 * reports, the journey drawing, the YAML editors) are declared by their pages.
 */
import { lazyComponent } from './lazy';

export const Overview = lazyComponent(() => import('../pages/Overview'));
export const Profiles = lazyComponent(() => import('../pages/Profiles'));
export const Profile = lazyComponent(() => import('../pages/Profile'));
export const Segments = lazyComponent(() => import('../pages/Segments'));
export const Segment = lazyComponent(() => import('../pages/Segment'));
export const SegmentBuilder = lazyComponent(() => import('../pages/SegmentBuilder'));
export const NotFound = lazyComponent(() => import('../pages/NotFound'));
export const Journeys = lazyComponent(() => import('../pages/Journeys'));
export const Journey = lazyComponent(() => import('../pages/Journey'));
export const Reports = lazyComponent(() => import('../pages/Reports'));
export const Sources = lazyComponent(() => import('../pages/data/Sources'));
export const Catalogue = lazyComponent(() => import('../pages/data/Catalogue'));
export const Quarantine = lazyComponent(() => import('../pages/data/Quarantine'));
export const Health = lazyComponent(() => import('../pages/data/Health'));
export const Privacy = lazyComponent(() => import('../pages/data/Privacy'));
