/**
 * Reports count resolved people: the `profiles` snapshots in the lake are the ones real identity
 * resolution writes (processBatch on the in-memory store, its lake sink writing through s3rver), the
 * events the same messages' lake rows; DuckDB answers from the data directory.
 *
 * Pat browses anonymously on the web (web-1), buys in a store where the till knows only a customer
 * reference (till-77) and the e-receipt email, then signs up online (cust-1, web-1, the email):
 * the email ties the till's profile to the web one, a merge. Sam (cust-2) only views. web-x has a
 * view but no snapshot (its profile was never written to the lake): it stays its raw id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { s3 } from '#shared/aws/clients';
import { LAKE } from '#shared/config/resources';
import { encodeJsonLines, eventObjectKey, toEventRow } from '#shared/lake';
import { writeLakeBatch } from '#shared/profiles/s3-lake';
import { identityConfig } from '#shared/identity/config';
import { MemoryStore } from '#shared/identity/memory-store';
import { processBatch, ResolveCache } from '#shared/identity/process';
import type { NormalizedMessage } from '#shared/message/types';
import { run } from '#cli/main';
import { io } from '../support/io';

process.env.CAIRN_LOG_LEVEL ??= 'error';

let n = 0;
const msg = (p: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>, at: string): NormalizedMessage => ({
  messageId: `pm-${++n}`,
  properties: {},
  traits: {},
  context: {},
  timestamp: at,
  receivedAt: at,
  sourceId: 'src',
  ...p,
});

describe('reports count identity-resolved people', () => {
  let emu: Emulators;
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-cli-report-people-'));
  const store = new MemoryStore();
  let pat = '';
  let sam = '';

  async function report(...args: string[]): Promise<Record<string, unknown>[]> {
    const c = io();
    const code = await run(['--data-dir', dataDir, 'report', ...args, '--format', 'json'], c);
    expect(c.err).toBe('');
    expect(code).toBe(0);
    return JSON.parse(c.out) as Record<string, unknown>[];
  }

  beforeAll(async () => {
    emu = await startEmulators(dataDir);
    useEndpoints(emu.endpoints);
    await createResources();

    // Each batch is resolved for real; the profiles it changed go to the lake as change snapshots.
    const batches: NormalizedMessage[][] = [
      [
        msg({ type: 'track', anonymousId: 'web-1', event: 'Product Viewed' }, '2024-05-01T10:00:00.000Z'),
        msg({ type: 'track', anonymousId: 'web-1', event: 'Added to Cart' }, '2024-05-01T10:05:00.000Z'),
        msg({ type: 'track', userId: 'cust-2', event: 'Product Viewed' }, '2024-05-01T11:00:00.000Z'),
      ],
      // The till: its customer reference and the e-receipt email (mixed case: resolution lower-cases it).
      [
        msg(
          { type: 'track', anonymousId: 'till-77', event: 'Order Completed', properties: { total: 80 }, context: { traits: { email: 'Pat@Example.com' } } },
          '2024-05-02T12:00:00.000Z',
        ),
      ],
      // Sign-up: the web id and the email are two profiles until now: merged.
      [msg({ type: 'identify', userId: 'cust-1', anonymousId: 'web-1', traits: { email: 'pat@example.com' } }, '2024-05-03T09:00:00.000Z')],
      [
        msg({ type: 'track', userId: 'cust-1', event: 'Product Viewed' }, '2024-05-03T09:05:00.000Z'),
        msg({ type: 'track', userId: 'cust-1', event: 'Order Completed', properties: { total: 20 } }, '2024-05-04T09:00:00.000Z'),
      ],
    ];
    let seq = 0;
    const config = identityConfig();
    const events: NormalizedMessage[] = [];
    for (const b of batches) {
      const r = await processBatch(
        { store, config, cache: new ResolveCache(), lake: (x) => writeLakeBatch(LAKE.localBucket, x), now: () => new Date(b[b.length - 1]!.receivedAt) },
        'shardId-000000000000',
        b.map((message) => ({ message, seq: String(++seq).padStart(12, '0') })),
      );
      expect(r.ok).toBe(true);
      events.push(...b);
    }
    // No profile snapshot for web-x.
    events.push(msg({ type: 'track', anonymousId: 'web-x', event: 'Product Viewed' }, '2024-05-01T12:00:00.000Z'));
    await s3().send(
      new PutObjectCommand({
        Bucket: LAKE.localBucket,
        Key: eventObjectKey('2024-05-01', 'shardId-000000000000', '1'),
        Body: encodeJsonLines(events.map(toEventRow)),
      }),
    );

    const live = [...store.profiles.values()].filter((p) => !p.mergedInto);
    pat = live.find((p) => p.identities.some((i) => i.value === 'cust-1'))!.profileId;
    sam = live.find((p) => p.identities.some((i) => i.value === 'cust-2'))!.profileId;
    expect(live).toHaveLength(2);
  });
  afterAll(async () => emu?.close());

  it('the lake holds what resolution wrote: a merged-away row naming its survivor, the survivor listing every identifier', async () => {
    const c = io();
    const sql = `SELECT profile_id, merged_into, identities, merged_from FROM profiles QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY updated_at DESC, snapshot_at DESC) = 1 ORDER BY merged_into NULLS FIRST, profile_id`;
    expect(await run(['--data-dir', dataDir, 'sql', sql, '--format', 'json'], c)).toBe(0);
    const rows = JSON.parse(c.out) as {
      profile_id: string;
      merged_into: string | null;
      identities: { type: string; value: string }[];
      merged_from: string[];
    }[];
    const byId = Object.fromEntries(rows.map((r) => [r.profile_id, r]));
    expect(byId[pat]!.merged_into).toBeNull();
    expect(byId[pat]!.identities.map((i) => `${i.type}:${i.value}`).sort()).toEqual([
      'anonymous_id:till-77',
      'anonymous_id:web-1',
      'email:pat@example.com',
      'user_id:cust-1',
    ]);
    const merged = rows.filter((r) => r.merged_into !== null);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.merged_into).toBe(pat);
    expect(byId[pat]!.merged_from).toEqual([merged[0]!.profile_id]);
  });

  it('funnel: the anonymous visit, the till order and the signed-in view are one person converting', async () => {
    const steps = ['funnel', '--steps', 'Product Viewed,Added to Cart,Order Completed', '--until', '2024-05-10'];
    // Pat: view (web-1) → cart (web-1, +300 s) → till order (+26 h). Sam and web-x only view.
    expect((await report(...steps)).map((s) => [s.people, s.median_seconds_from_previous])).toEqual([
      [3, null],
      [1, 300],
      [1, 93_300],
    ]);
    // By raw ids: web-1, cust-2, web-x and cust-1 view; web-1 adds to cart; nobody who viewed orders.
    expect((await report(...steps, '--by', 'raw')).map((s) => s.people)).toEqual([4, 1, 0]);
  });

  it('rfm --people: one buyer with both orders, named by the live profile id', async () => {
    const r = await report('rfm', '--people', '--as-of', '2024-05-10');
    expect(r.map((p) => [p.person, p.frequency, p.monetary, p.recency_days])).toEqual([[pat, 2, 100, 6]]);
    const raw = await report('rfm', '--people', '--as-of', '2024-05-10', '--by', 'raw');
    expect(raw.map((p) => p.person).sort()).toEqual(['cust-1', 'till-77']);
  });

  it('retention and lifecycle count Pat once', async () => {
    // Week of Apr 29: Pat, Sam, web-x (3 people, not 5 ids).
    const r = await report('retention', '--weeks', '1');
    expect(r.map((x) => [x.cohort_week, x.cohort_size, x.week_number, x.active])).toEqual([
      ['2024-04-29', 3, 0, 3],
      ['2024-04-29', 3, 1, 0],
    ]);
    const raw = await report('retention', '--weeks', '1', '--by', 'raw');
    expect(raw[0]).toMatchObject({ cohort_size: 5 });
    const lc = await report('lifecycle', '--since', '2024-05-01', '--until', '2024-05-07');
    expect(lc.map((s) => [s.stage, s.all_people])).toEqual([
      ['acquisition', 3],
      ['activation', 1],
      ['retention', 0],
      ['revenue', 1],
      ['referral', 0],
    ]);
    expect(sam).not.toBe(pat);
  });

  it('--profiles-since reads only the later snapshots; identifiers they do not list fall back to raw ids', async () => {
    const steps = ['funnel', '--steps', 'Product Viewed,Added to Cart,Order Completed', '--until', '2024-05-10'];
    // From May 3: Pat's rows after the merge list every identifier; Sam's only row (May 1) is left out, so Sam is cust-2.
    expect((await report(...steps, '--profiles-since', '2024-05-03')).map((s) => s.people)).toEqual([3, 1, 1]);
    const rfm = await report('rfm', '--people', '--as-of', '2024-05-10', '--profiles-since', '2024-05-03');
    expect(rfm.map((p) => [p.person, p.frequency])).toEqual([[pat, 2]]);
    // No snapshot in range: everyone is their raw id, as --by raw.
    expect((await report(...steps, '--profiles-since', '2024-05-05')).map((s) => s.people)).toEqual([4, 1, 0]);
  });

  it('--by takes profile or raw only', async () => {
    const e = io();
    expect(await run(['--data-dir', dataDir, 'report', 'rfm', '--by', 'email'], e)).toBe(2);
    expect(e.err).toMatch(/--by must be one of profile, raw/);
  });
});
