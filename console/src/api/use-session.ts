/** The signed-in session as React state (session.ts keeps it; this re-renders on sign-in and sign-out). */
import { useSyncExternalStore } from 'react';
import { may } from '../auth/may';
import { getSession, onSessionChange, type Session } from './session';

export function useSession(): Session | null {
  return useSyncExternalStore(onSessionChange, getSession);
}

/** Whether the signed-in user's roles allow `routeKey` (auth/may.ts). */
export function useMay(routeKey: string): boolean {
  return may(useSession(), routeKey);
}
