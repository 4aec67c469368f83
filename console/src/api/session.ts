/**
 * The signed-in session: the admin token, kept in sessionStorage (this tab only, gone when it
 * closes; never in a URL, never in localStorage), and the role it carries. Locally the admin token
 * is the `admin` role.
 */
import { useSyncExternalStore } from 'react';

export type Role = 'admin' | 'marketer' | 'viewer';
export interface Session {
  token: string;
  role: Role;
}

const KEY = 'cairn.session';
const listeners = new Set<() => void>();
let cached: { raw: string | null; session: Session | null } = { raw: null, session: null };

export function getSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (raw === cached.raw) return cached.session;
  let session: Session | null = null;
  try {
    const v = raw ? (JSON.parse(raw) as Partial<Session>) : null;
    if (v && typeof v.token === 'string' && v.token && (v.role === 'admin' || v.role === 'marketer' || v.role === 'viewer'))
      session = { token: v.token, role: v.role };
  } catch {
    session = null;
  }
  cached = { raw, session };
  return session;
}

export function signIn(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
  for (const l of listeners) l();
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  for (const l of listeners) l();
}

export function useSession(): Session | null {
  return useSyncExternalStore((l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  }, getSession);
}
