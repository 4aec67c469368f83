/**
 * The signed-in session, kept in sessionStorage (this tab only, gone when it closes; never in a URL,
 * never in localStorage). Locally it is the admin token, which is the `admin` role; on AWS it is
 * the user pool's tokens (docs/console.md#sign-in-on-aws), the roles their groups name.
 */
import { CONSOLE_ROLES, type ConsoleRole } from '#shared/config';
import { tabStorage } from '../auth/tab';

export type Role = ConsoleRole;
export interface Session {
  /** `token`: the admin token; `cognito`: the user pool's access token, refreshed before it expires. */
  kind: 'token' | 'cognito';
  /** Sent as `Authorization: Bearer`. */
  token: string;
  /** Every role the user has, the widest first (CONSOLE_ROLES order); none is a user in no console group. */
  roles: Role[];
  /** Cognito: when `token` expires (ms since the epoch), and the refresh token that renews it. */
  expiresAt?: number;
  refreshToken?: string;
  /** Cognito: who signed in (the ID token's email), shown in the header. */
  user?: string;
}

const KEY = 'cairn.session';
const listeners = new Set<() => void>();
let cached: { raw: string | null; session: Session | null } = { raw: null, session: null };

/** The widest role of a session (what the API allows is the union of its roles, and each role's access includes the next one's). */
export const roleOf = (s: Session | null): Role | null => s?.roles[0] ?? null;

function parse(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<Session>;
    if (!v || (v.kind !== 'token' && v.kind !== 'cognito') || typeof v.token !== 'string' || !v.token || !Array.isArray(v.roles)) return null;
    const roles = CONSOLE_ROLES.filter((r) => v.roles!.includes(r));
    return {
      kind: v.kind,
      token: v.token,
      roles,
      ...(typeof v.expiresAt === 'number' ? { expiresAt: v.expiresAt } : {}),
      ...(typeof v.refreshToken === 'string' && v.refreshToken ? { refreshToken: v.refreshToken } : {}),
      ...(typeof v.user === 'string' ? { user: v.user } : {}),
    };
  } catch {
    return null;
  }
}

export function getSession(): Session | null {
  const raw = tabStorage().getItem(KEY);
  if (raw === cached.raw) return cached.session;
  cached = { raw, session: parse(raw) };
  return cached.session;
}

export function signIn(session: Session): void {
  tabStorage().setItem(KEY, JSON.stringify(session));
  for (const l of listeners) l();
}

/** Forgets the session in this tab (the Cognito sign-out, which also ends the hosted pages' session, is auth/cognito.ts's endSession). */
export function signOut(): void {
  tabStorage().removeItem(KEY);
  for (const l of listeners) l();
}

/** Calls `l` on every sign-in and sign-out in this tab; answers the unsubscribe (use-session.ts's hook). */
export function onSessionChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
