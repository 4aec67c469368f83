/**
 * How this console signs in, read once at start from `/config.json` beside index.html: on AWS the
 * stack writes it (ConsoleRuntimeConfig: the user pool's hosted pages, app client, return URL); the
 * local stack serves none, and the console signs in with the admin token.
 */
import type { ConsoleRuntimeConfig } from '#shared/config';

export type AuthConfig = { auth: 'token' } | ConsoleRuntimeConfig;

const TOKEN: AuthConfig = { auth: 'token' };
let current: AuthConfig = TOKEN;

export const authConfig = (): AuthConfig => current;

/** Only an https origin, or http on this machine (the tests' stand-in for the hosted pages). */
function isAuthOrigin(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    const loopback = u.hostname === '127.0.0.1' || u.hostname === 'localhost';
    return u.origin === v && (u.protocol === 'https:' || (u.protocol === 'http:' && loopback));
  } catch {
    return false;
  }
}

/** The Cognito settings if `v` is a complete set of them, else undefined. */
export function cognitoConfigOf(v: unknown): ConsoleRuntimeConfig | undefined {
  const c = v as Partial<ConsoleRuntimeConfig> | null;
  if (c?.auth !== 'cognito') return undefined;
  const text = (x: unknown) => typeof x === 'string' && x.length > 0;
  if (!text(c.clientId) || !text(c.region) || !text(c.userPoolId) || !isAuthOrigin(c.authDomain) || !text(c.redirectUri)) return undefined;
  if (!Array.isArray(c.scopes) || !c.scopes.every(text)) return undefined;
  return c as ConsoleRuntimeConfig;
}

/**
 * Reads `/config.json`. No file (404, or the local stack's page) means the admin token; a file that
 * says Cognito but is incomplete is an error, never a silent fall back to the token form.
 */
export async function loadAuthConfig(fetcher: typeof fetch = fetch): Promise<AuthConfig> {
  let res: Response;
  try {
    res = await fetcher('/config.json', { headers: { accept: 'application/json' }, credentials: 'omit' });
  } catch {
    return (current = TOKEN);
  }
  if (!res.ok || !/json/.test(res.headers.get('content-type') ?? '')) return (current = TOKEN);
  const body: unknown = await res.json().catch(() => null);
  if ((body as { auth?: unknown } | null)?.auth !== 'cognito') return (current = TOKEN);
  const cognito = cognitoConfigOf(body);
  if (!cognito) throw new Error('config.json names Cognito sign-in but lacks its settings (authDomain, clientId, redirectUri, scopes)');
  return (current = cognito);
}
