/**
 * The audit log on the local stack (docs/security.md#audit-log): an export, a definition PUT, a
 * write-key creation, an erasure and a failed export through the local API become rows of the lake's
 * `audit` table (read with `npx cairn sql`'s DuckDB views), with the local admin as the actor and no
 * trace of the person's identifiers in the audit objects.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { localLakeDir, queryLocalLake } from '#cli/lake';
import { LAKE } from '#shared/config/resources';
import { LOCAL_ADMIN_ARN } from '#local/apigw';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';

const stack = useLocalStack({ name: 'audit', functions: PIPELINE_FUNCTIONS, env: { CAIRN_LOG_LEVEL: 'error' } });

const EMAIL = 'ann.audit@example.com';
const USER_ID = 'ann-audit-7f3c9';

/** Every audit object under the local lake, unzipped. */
function auditObjects(): string[] {
  const dir = join(localLakeDir(stack.dataDir), LAKE.auditPrefix);
  const out: string[] = [];
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('._S3rver_object')) out.push(gunzipSync(readFileSync(join(e.parentPath, e.name))).toString('utf8'));
  }
  return out;
}

describe('audit log (local stack)', () => {
  it('records who exported, changed a definition, created a key and erased, and failures, without the identifiers', async () => {
    expect((await stack.collect([{ type: 'identify', userId: USER_ID, traits: { email: EMAIL, plan: 'pro' } }])).status).toBe(200);
    expect(await stack.drain(60_000)).toBe(true);

    const exp = await stack.admin('GET', `/v1/profiles/email:${EMAIL}/export`);
    expect(exp.status).toBe(200);
    const profileId = exp.json.profile.profileId as string;
    const put = await stack.admin('PUT', '/v1/segments/audit-vip', { kind: 'segment', id: 'audit-vip', where: { trait: 'plan', eq: 'pro' } });
    expect(put.status).toBe(201);
    const key = await stack.admin('POST', '/v1/sources/audit-web/keys', { create: true, name: 'Audit web', trust: 'browser' });
    expect(key.status).toBe(201);
    const missing = await stack.admin('GET', `/v1/profiles/user_id:${USER_ID}-nobody/export`);
    expect(missing.status).toBe(404);
    const del = await stack.admin('DELETE', `/v1/profiles/user_id:${USER_ID}`);
    expect(del.status).toBe(202);
    // A read is not audited.
    expect((await stack.admin('GET', '/v1/segments/audit-vip')).status).toBe(200);

    const rid = (r: { headers: Headers }) => r.headers.get('apigw-requestid');
    const res = await queryLocalLake(stack.dataDir, `select request_id, actor, action, target, status, code, dt, "at" from audit order by "at", request_id`);
    const rows = res.rows.map((r) => Object.fromEntries(res.columns.map((c, i) => [c.name, r[i]])));
    const today = new Date().toISOString().slice(0, 10);
    expect(rows.map(({ at: _at, ...r }) => r)).toEqual(
      [
        { request_id: rid(exp), action: 'profile.exported', target: profileId, status: 200, code: null },
        { request_id: rid(put), action: 'definition.put', target: 'segments/audit-vip', status: 201, code: null },
        { request_id: rid(key), action: 'key.created', target: `audit-web/${key.json.keyId}`, status: 201, code: null },
        { request_id: rid(missing), action: 'profile.exported', target: null, status: 404, code: 'profile_not_found' },
        { request_id: rid(del), action: 'erasure.requested', target: del.json.erasureId, status: 202, code: null },
      ].map((r) => ({ ...r, actor: LOCAL_ADMIN_ARN, dt: today })),
    );

    const objects = auditObjects();
    expect(objects).toHaveLength(5);
    for (const text of objects) {
      expect(text).not.toContain(EMAIL);
      expect(text).not.toContain(USER_ID);
      expect(text).not.toContain(key.json.writeKey);
    }
  }, 120_000);
});
