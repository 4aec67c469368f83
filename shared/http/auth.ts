/**
 * Admin API authentication (docs/security.md). On AWS, API Gateway's IAM authorizer checks the
 * SigV4 signature of every admin route before λ admin runs (infra/constructs/collection.ts). On the
 * local stack, the local API Gateway (local/http.ts) checks `Authorization: Bearer <token>` with
 * `bearerOk` before the function runs. A write key is never an admin credential: it is neither a
 * SigV4 signature nor the admin token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Constant-time check of `Authorization: Bearer <token>`. Both sides are hashed to fixed-length
 * SHA-256 digests before `timingSafeEqual`, so the time taken says nothing about the token, not
 * even its length. An empty configured token never matches.
 */
export function bearerOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(.+)$/i.exec(typeof header === 'string' ? header : '');
  const given = m ? m[1]!.trim() : '';
  const ok = timingSafeEqual(digest(given), digest(token));
  return ok && given.length > 0 && token.length > 0;
}
