/**
 * `npx cairn export segment` on the local stack: real members through the pipeline, the chosen
 * identifiers and traits, CSV escaping of awkward values, consent exclusion counted in the summary,
 * JSON Lines, S3 (the stack's s3rver, read back with the SDK), and the failures a user hits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { LAKE } from '#shared/config/resources';
import { s3 } from '#shared/aws/clients';
import { PIPELINE_FUNCTIONS, useLocalStack } from '../support/stack';
import { parseCsv } from '#cli/csv';

const dir = mkdtempSync(join(tmpdir(), 'cairn-export-'));
const stack = useLocalStack({ dataDir: join(dir, 'data'), functions: [...PIPELINE_FUNCTIONS, 'recheck'], env: { CAIRN_LOG_LEVEL: 'error' } });

const cli = (...args: string[]) => stack.cli(args, { cwd: dir });
const admin = (method: string, path: string, body?: unknown) => stack.admin(method, path, body);

const people = [
  { userId: 'u1', traits: { email: 'ada@example.com', name: 'Lovelace, Ada "the first"', plan: 'pro' }, consent: { ads: true } },
  { userId: 'u2', traits: { email: 'bob@example.com', phone: '+14155550100', name: 'Bob\nSmith', plan: 'pro' }, consent: { ads: false } },
  { userId: 'u3', traits: { email: 'cy@example.com', name: 'Cy', plan: 'pro' } },
  { userId: 'u4', traits: { email: 'di@example.com', name: 'Di', plan: 'pro' }, consent: { ads: true } },
  { userId: 'u5', traits: { email: 'eve@example.com', name: 'Eve', plan: 'free' }, consent: { ads: true } },
];

describe('npx cairn export segment (local stack)', () => {
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    expect((await admin('PUT', '/v1/segments/pros', { kind: 'segment', id: 'pros', where: { trait: 'plan', eq: 'pro' } })).status).toBe(201);
    const res = await stack.collect(
      people.map((p) => ({ type: 'identify', userId: p.userId, traits: p.traits, ...(p.consent ? { context: { consent: p.consent } } : {}) })),
    );
    expect(res.status).toBe(200);
    // Drained: the profiles are written and their segment effects applied (a bounded poll of the
    // members gave up after 20 s on a loaded machine and let the tests run on an empty segment).
    expect(await stack.drain(90_000)).toBe(true);
    expect((await admin('GET', '/v1/segments/pros/members')).json.members).toHaveLength(4);
    for (const p of people) ids[p.userId] = (await admin('GET', `/v1/profiles/user_id:${p.userId}`)).json.profileId;
  }, 120_000);

  it('consent filtering is on unless turned off by name: no --consent and no --no-consent is a usage error', async () => {
    const r = await cli('export', 'segment', 'pros', '--out', 'forgot.csv');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/name the consent channel .*--consent .*--no-consent/);
    expect(existsSync(join(dir, 'forgot.csv'))).toBe(false);
  });

  it('CSV with the default columns (--no-consent): every member, identifiers normalised, header first', async () => {
    const r = await cli('export', 'segment', 'pros', '--no-consent', '--out', 'pros.csv');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('');
    const { records } = parseCsv(readFileSync(join(dir, 'pros.csv'), 'utf8'));
    const rows = records.map((x) => x.fields);
    expect(rows[0]).toEqual(['profile_id', 'user_id', 'email', 'phone']);
    const body = rows.slice(1).sort((a, b) => (a[1]! < b[1]! ? -1 : 1));
    expect(body).toEqual([
      [ids.u1, 'u1', 'ada@example.com', ''],
      [ids.u2, 'u2', 'bob@example.com', '+14155550100'],
      [ids.u3, 'u3', 'cy@example.com', ''],
      [ids.u4, 'u4', 'di@example.com', ''],
    ]);
    expect(r.err).toBe(`exported 4 of 4 member(s) of pros to ${join(dir, 'pros.csv')}\n`);
  });

  it('--consent ads: only members who granted it; the others counted; commas, quotes and newlines escaped', async () => {
    const r = await cli('export', 'segment', 'pros', '--consent', 'ads', '--fields', 'user_id,traits.name', '--fields', 'consent.ads', '--summary', 'json');
    expect(r.code, r.err).toBe(0);
    expect(r.out.startsWith('user_id,traits.name,consent.ads\r\n')).toBe(true);
    expect(r.out).toContain('u1,"Lovelace, Ada ""the first""",true\r\n');
    const rows = parseCsv(r.out).records.map((x) => x.fields);
    expect(rows.slice(1).sort((a, b) => (a[0]! < b[0]! ? -1 : 1))).toEqual([
      ['u1', 'Lovelace, Ada "the first"', 'true'],
      ['u4', 'Di', 'true'],
    ]);
    expect(JSON.parse(r.err)).toEqual({ segment: 'pros', members: 4, exported: 2, excludedNoConsent: 2, consent: 'ads', missing: 0, destination: 'stdout' });
  });

  it("JSON Lines to S3 (the stack's S3 emulator), typed values, a multi-line trait intact", async () => {
    const r = await cli(
      'export',
      'segment',
      'pros',
      '--format',
      'jsonl',
      '--no-consent',
      '--fields',
      'profile_id,email,traits.name,consent.ads',
      '--s3',
      `s3://${LAKE.localBucket}/exports/pros.jsonl`,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`exported 4 of 4 member(s) of pros to s3://${LAKE.localBucket}/exports/pros.jsonl`);
    const obj = await s3().send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: 'exports/pros.jsonl' }));
    const lines = (await obj.Body!.transformToString())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.email === 'bob@example.com')).toEqual({
      profile_id: ids.u2,
      email: 'bob@example.com',
      'traits.name': 'Bob\nSmith',
      'consent.ads': false,
    });
    expect(lines.find((l) => l.email === 'cy@example.com')['consent.ads']).toBeNull();
  });

  it('pages through the members (several pages give the same rows)', async () => {
    const { exportSegment } = await import('#cli/export');
    const { parseFields } = await import('#cli/export');
    let out = '';
    const s = await exportSegment(
      { kind: 'local', baseUrl: stack.url, writeKey: 'dev-write-key', adminToken: 'dev-admin-token' },
      { segment: 'pros', format: 'csv', fields: parseFields(['user_id']), pageSize: 1 },
      (c) => void (out += c),
    );
    expect(s).toMatchObject({ members: 4, exported: 4 });
    expect(out.split('\r\n').filter(Boolean).slice(1).sort()).toEqual(['u1', 'u2', 'u3', 'u4']);
  });

  it('fails with a one-line reason: unknown segment, bad format, bad S3 URL', async () => {
    const a = await cli('export', 'segment', 'nope', '--no-consent');
    expect(a.code).toBe(1);
    expect(a.err).toBe('error: no segment "nope"\n');
    const b = await cli('export', 'segment', 'pros', '--no-consent', '--format', 'xml');
    expect(b.code).toBe(2);
    const c = await cli('export', 'segment', 'pros', '--no-consent', '--s3', 'https://bucket/key');
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--s3 must be s3:\/\/<bucket>\/<key>/);
  });
});
