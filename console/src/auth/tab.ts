/**
 * The browser tab as sign-in uses it: its sessionStorage, its address and history. Read through
 * `globalThis` with the few members used, so these modules also compile (and are unit-tested) in the
 * repository's Node program, which has no DOM library.
 */
export interface TabStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

interface BrowserGlobals {
  sessionStorage: TabStorage;
  location: { pathname: string; search: string; hash: string; assign(url: string): void };
  history: { replaceState(state: unknown, unused: string, url: string): void };
}

const w = () => globalThis as unknown as BrowserGlobals;

export const tabStorage = (): TabStorage => w().sessionStorage;
/** The address's path, query and fragment. */
export const here = (): { path: string; search: string; hash: string } => ({
  path: w().location.pathname,
  search: w().location.search,
  hash: w().location.hash,
});
/** Leaves for another page (the hosted sign-in or sign-out). */
export const go = (url: string): void => w().location.assign(url);
/** Replaces the address without a new history entry (the code and state leave it). */
export const replaceAddress = (path: string): void => w().history.replaceState(null, '', path);
