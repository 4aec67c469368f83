/**
 * Secrets read at run time (docs/security.md#secrets): the webhook signing key and the suppression
 * key are never in a function's environment, which holds only the secret's ARN (its name locally).
 * `cachedSecret` reads one with GetSecretValue (AWSCURRENT) through the process's Secrets Manager
 * client (clients.ts, CLIENT_POLICY: retries, timeouts) and keeps the value SECRET_TTL_MS, so a
 * container makes one request per secret on its first use and one per TTL after that (a value set by
 * hand is picked up within the TTL), never one per event.
 *
 * A read that fails with no value in the cache throws `secret_unavailable`: the caller fails (a
 * webhook is not sent unsigned, a batch is not checked without its key). A refresh that fails keeps
 * serving the value already held, and tries again after RETRY_MS.
 */
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CairnError } from '../errors';
import { log } from '../log';
import { endpointFor, secretsManager } from './clients';

/** How long a container keeps a secret's value before reading it again. */
export const SECRET_TTL_MS = 5 * 60_000;
/** After a failed refresh (a value still held), the next read is tried this much later. */
export const RETRY_MS = 30_000;

/** Reads a secret's current string value (GetSecretValue; a fake in unit tests). */
export type SecretFetch = (secretId: string) => Promise<string>;

/** GetSecretValue's `SecretString` at AWSCURRENT; a binary or empty secret is refused. */
export const getSecretString: SecretFetch = async (secretId) => {
  const out = await secretsManager().send(new GetSecretValueCommand({ SecretId: secretId }));
  if (typeof out.SecretString !== 'string' || !out.SecretString) {
    throw new CairnError('secret_unavailable', `secret ${secretId} has no string value`, 500);
  }
  return out.SecretString;
};

interface Entry {
  value?: string;
  /** When the value is to be read again (epoch ms). */
  due: number;
  inflight?: Promise<string>;
}

export interface SecretCacheOptions {
  /**
   * Who reads it: the function (FUNCTIONS key), `cli`, a test. Readers of one scope share a cache
   * entry; the local stack runs several functions in one process, and each gets its own entry as
   * each has its own container on AWS (so each makes — and the IAM check records — its own read).
   */
  scope?: string;
  ttlMs?: number;
  now?: () => number;
  fetch?: SecretFetch;
}

const entries = new Map<string, Entry>();

/**
 * A reader of `secretId` that caches its value for `ttlMs` (default SECRET_TTL_MS). Readers of the
 * same secret in the same scope through the same endpoint share one cache entry (one request per
 * container, however many callers and however often they are built). Rejects with
 * `secret_unavailable` when the secret cannot be read and no value is held.
 */
export function cachedSecret(secretId: string, opts: SecretCacheOptions = {}): () => Promise<string> {
  const { scope = '', ttlMs = SECRET_TTL_MS, now = Date.now, fetch = getSecretString } = opts;
  // A process pointing at a second local stack (tests) gets that stack's secret, as clients.ts gets its clients.
  const key = `${endpointFor('secretsmanager') ?? ''}|${scope}|${secretId}`;
  return () => {
    let e = entries.get(key);
    if (!e) entries.set(key, (e = { due: 0 }));
    const entry = e;
    if (entry.value !== undefined && now() < entry.due) return Promise.resolve(entry.value);
    entry.inflight ??= fetch(secretId)
      .then(
        (value) => {
          entry.value = value;
          entry.due = now() + ttlMs;
          return value;
        },
        (err: unknown) => {
          const reason = err instanceof CairnError ? err.message : `${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`;
          if (entry.value !== undefined) {
            log('warn', 'secret.refresh_failed', { secretId, error: (err as Error)?.name ?? 'Error' });
            entry.due = now() + Math.min(ttlMs, RETRY_MS);
            return entry.value;
          }
          throw new CairnError('secret_unavailable', `cannot read secret ${secretId} from Secrets Manager: ${reason}`, 500);
        },
      )
      .finally(() => (entry.inflight = undefined));
    return entry.inflight;
  };
}

/** For tests: forget every cached secret value. */
export function resetSecretCache(): void {
  entries.clear();
}
