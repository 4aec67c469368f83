/**
 * Pure parts of erasure (docs/privacy.md): suppression hashes, the container's copy of the list
 * (buckets, truncation, refresh), and which lake rows belong to an erased person.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_CONFIG } from '#shared/identity/config';
import { ERASURE_LAKE_PREFIXES, filterRows, rowOwner, s3Failure, tableOfKey, type ErasureTarget } from '#shared/privacy';
import {
  bucketOf,
  chunkKey,
  DEFAULT_REFRESH_MS,
  dropSuppressed,
  entryOf,
  MAX_REFRESH_MS,
  messageHashes,
  parseMeta,
  rawMessageHashes,
  suppressionHasher,
  SuppressionView,
  type SuppressionMeta,
  type SuppressionReader,
} from '#shared/suppression';
import { suppressionRefreshMsFromEnv } from '#functions/env';
import { TABLES } from '#shared/config/resources';
import { toEventRow } from '#shared/lake/index';
import type { NormalizedMessage } from '#shared/message/types';
import type { KinesisStreamRecord } from 'aws-lambda';
import { gunzipSync } from 'node:zlib';
import { processRecords } from '#shared/normalize/handler';

const config = DEFAULT_IDENTITY_CONFIG;
/** The deployment's hasher, with a test key (tests/unit/suppression-hash.test.ts covers the keying itself). */
const suppressionHash = suppressionHasher('unit-test-suppression-key-0123456789abcdef');
const hasher = async () => suppressionHash;
const msg = (p: Partial<NormalizedMessage>): NormalizedMessage =>
  ({
    type: 'track',
    event: 'E',
    messageId: 'm',
    properties: {},
    traits: {},
    context: {},
    timestamp: '2024-01-01T00:00:00.000Z',
    receivedAt: '2024-01-01T00:00:00.000Z',
    sourceId: 's',
    ...p,
  }) as NormalizedMessage;
const target = (keys: string[], extra: Partial<ErasureTarget> = {}): ErasureTarget => ({
  erasureId: 'e1',
  hashes: new Set(keys.map(suppressionHash)),
  messageIds: new Set(),
  profileIds: new Set(),
  ...extra,
});

describe('suppression hashes', () => {
  it('hash normalised identifiers, never contain them, and differ per type', () => {
    const h = suppressionHash('email:ada@example.com');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).not.toBe(suppressionHash('user_id:ada@example.com'));
    // The same person written differently in a message hashes the same (emails lower-cased, phones E.164).
    expect(
      messageHashes(msg({ type: 'identify', userId: 'u', traits: { email: ' Ada@Example.COM ', phone: '+1 (415) 555-0123' } }), config, suppressionHash),
    ).toEqual(expect.arrayContaining([suppressionHash('email:ada@example.com'), suppressionHash('phone:+14155550123'), suppressionHash('user_id:u')]));
  });
  it('alias previousId counts as a user_id', () => {
    expect(messageHashes(msg({ type: 'alias', userId: 'new', previousId: 'old' }), config, suppressionHash)).toContain(suppressionHash('user_id:old'));
  });
});

/** A fake `supmeta` + bucket store that counts the reads a container makes. */
function fakeList() {
  const chunks = new Map<string, Set<string>>();
  const meta: SuppressionMeta = new Map();
  const calls = { meta: 0, chunks: 0, keys: [] as string[] };
  const reader: SuppressionReader = {
    async meta() {
      calls.meta++;
      return new Map([...meta].map(([b, m]) => [b, { ...m }]));
    },
    async chunks(keys) {
      calls.chunks++;
      calls.keys.push(...keys);
      return new Map(keys.filter((k) => chunks.has(k)).map((k) => [k, [...chunks.get(k)!]]));
    },
  };
  /** What suppress() does: add to the bucket's chunk, then move the bucket's counter. */
  const suppress = (key: string, chunk = 0) => {
    const h = suppressionHash(key);
    const k = chunkKey(bucketOf(h), chunk);
    chunks.set(k, (chunks.get(k) ?? new Set()).add(entryOf(h)));
    const m = meta.get(bucketOf(h)) ?? { version: 0, chunks: 1 };
    meta.set(bucketOf(h), { version: m.version + 1, chunks: Math.max(m.chunks, chunk + 1) });
    return h;
  };
  return { reader, calls, suppress };
}

describe('the container copy of the suppression list', () => {
  afterEach(() => void delete process.env.CAIRN_SUPPRESSION_REFRESH_MS);

  it('buckets by the first two hex digits and keeps 16 more (no raw identifier, 72 bits in all)', () => {
    const h = suppressionHash('email:ada@example.com');
    expect(bucketOf(h)).toBe(h.slice(0, 2));
    expect(entryOf(h)).toBe(h.slice(2, 18));
    expect(entryOf(h)).toMatch(/^[0-9a-f]{16}$/);
    expect(chunkKey('0a', 0)).toBe('supset#0a');
    expect(chunkKey('0a', 2)).toBe('supset#0a#2');
    // 16-hex-digit entries: about 25,000 per 400 KB bucket item, ~6.5M identifiers before any spill.
    expect(Math.floor(409_600 / entryOf(h).length) * 256).toBeGreaterThan(6_000_000);
  });

  it('parses supmeta: a counter (b<xx>) and a chunk count (n<xx>) per bucket', () => {
    expect(parseMeta({ pk: 'supmeta', v: 7, b0a: 3, b1f: 4, n1f: 2, junk: 1 })).toEqual(
      new Map([
        ['0a', { version: 3, chunks: 1 }],
        ['1f', { version: 4, chunks: 2 }],
      ]),
    );
    expect(parseMeta(undefined).size).toBe(0);
  });

  it('refresh interval: CAIRN_SUPPRESSION_REFRESH_MS, capped so that λ erase settles after it', () => {
    expect(suppressionRefreshMsFromEnv()).toBe(DEFAULT_REFRESH_MS);
    process.env.CAIRN_SUPPRESSION_REFRESH_MS = '500';
    expect(suppressionRefreshMsFromEnv()).toBe(500);
    process.env.CAIRN_SUPPRESSION_REFRESH_MS = '600000';
    expect(suppressionRefreshMsFromEnv()).toBe(MAX_REFRESH_MS);
    process.env.CAIRN_SUPPRESSION_REFRESH_MS = 'nope';
    expect(suppressionRefreshMsFromEnv()).toBe(DEFAULT_REFRESH_MS);
    // SETTLE_SECONDS (180 s) > longest refresh + resolve's timeout (120 s).
    expect(MAX_REFRESH_MS / 1000 + 120).toBeLessThan(180);
  });

  it('reads supmeta at most once per interval and re-reads only the buckets that changed', async () => {
    const list = fakeList();
    const a = list.suppress('email:a@x.com');
    const b = list.suppress('user_id:b');
    let now = 1_000;
    const view = new SuppressionView(
      list.reader,
      () => now,
      () => 15_000,
    );
    await view.fresh(); // cold start: the meta and every bucket written so far
    expect(list.calls).toMatchObject({ meta: 1, chunks: 1 });
    expect(view.has(a) && view.has(b)).toBe(true);
    expect(view.has(suppressionHash('email:c@x.com'))).toBe(false);

    const c = list.suppress('email:c@x.com');
    now += 14_999;
    await view.fresh(); // within the interval: no request, the new suppression not yet seen
    expect(list.calls).toMatchObject({ meta: 1, chunks: 1 });
    expect(view.has(c)).toBe(false);
    now += 1;
    await view.fresh(); // due: the meta, then only c's bucket
    expect(list.calls).toMatchObject({ meta: 2, chunks: 2 });
    expect(list.calls.keys.slice(-1)).toEqual([chunkKey(bucketOf(c), 0)]);
    expect(view.has(c)).toBe(true);

    now += 15_000;
    await view.fresh(); // nothing changed: the meta only
    expect(list.calls).toMatchObject({ meta: 3, chunks: 2 });

    // A bucket spilled into a second chunk: both chunks are read.
    const d = list.suppress('user_id:d', 1);
    now += 15_000;
    await view.fresh();
    expect(list.calls.keys.slice(-2)).toEqual([chunkKey(bucketOf(d), 0), chunkKey(bucketOf(d), 1)]);
    expect(view.has(d)).toBe(true);
  });

  it('concurrent checks share one refresh; a failed refresh is retried by the next check', async () => {
    const list = fakeList();
    const h = list.suppress('email:a@x.com');
    let fail = true;
    const reader: SuppressionReader = {
      ...list.reader,
      meta: async () => {
        if (fail) throw new Error('throttled');
        return list.reader.meta();
      },
    };
    const view = new SuppressionView(
      reader,
      () => 0,
      () => 15_000,
    );
    await expect(view.fresh()).rejects.toThrow('throttled');
    fail = false;
    await Promise.all([view.fresh(), view.fresh(), view.fresh()]);
    expect(list.calls.meta).toBe(1);
    expect(view.has(h)).toBe(true);
  });

  it('a 500-message batch with 1,000 new identifiers costs no read per identifier: one meta read when due', async () => {
    const list = fakeList();
    for (let i = 0; i < 50; i++) list.suppress(`user_id:erased-${i}`);
    let now = 0;
    const view = new SuppressionView(
      list.reader,
      () => now,
      () => 15_000,
    );
    await view.fresh();
    const before = { ...list.calls };
    const batch = Array.from({ length: 500 }, (_, i) => msg({ messageId: `m${i}`, userId: `new-user-${i}`, anonymousId: `new-anon-${i}` }));
    now += 15_000;
    const { kept, dropped } = await dropSuppressed(batch, (m) => m, config, 'resolve', { table: TABLES.privacy.name, view, hasher });
    expect(dropped).toBe(0);
    expect(kept).toHaveLength(500);
    expect(list.calls.meta - before.meta).toBe(1);
    expect(list.calls.chunks - before.chunks).toBe(0);
    await dropSuppressed(batch, (m) => m, config, 'resolve', { table: TABLES.privacy.name, view, hasher }); // within the interval: nothing at all
    expect(list.calls.meta - before.meta).toBe(1);
  });
});

describe('lake rows of an erased person', () => {
  const t = target(['email:ada@example.com', 'anonymous_id:a1']);
  it('events: by identifier anywhere the pipeline reads one (userId, anonymousId, traits, context.traits)', () => {
    expect(rowOwner('events', toEventRow(msg({ anonymousId: 'a1' })), [t], config, suppressionHash)?.erasureId).toBe('e1');
    expect(rowOwner('events', toEventRow(msg({ userId: 'x', context: { traits: { email: 'ADA@example.com' } } })), [t], config, suppressionHash)).toBeDefined();
    expect(
      rowOwner('events', toEventRow(msg({ type: 'identify', userId: 'x', traits: { email: 'ada@example.com' } })), [t], config, suppressionHash),
    ).toBeDefined();
    expect(
      rowOwner('events', toEventRow(msg({ userId: 'someone-else', properties: { note: 'ada@example.com' } })), [t], config, suppressionHash),
    ).toBeUndefined();
  });
  it('events: by message id (messages resolved to the person through the graph)', () => {
    const byMsg = target([], { messageIds: new Set(['m-9']) });
    expect(rowOwner('events', toEventRow(msg({ userId: 'other', messageId: 'm-9' })), [byMsg], config, suppressionHash)).toBeDefined();
  });
  it('quarantine: the envelope normalize quarantined, or the message resolve did', () => {
    const row = (message: unknown) => ({ message_id: null, code: 'x', reason: 'x', message: JSON.stringify(message), received_at: '', source_id: null });
    expect(rowOwner('quarantine', row({ message: { type: 'track', anonymousId: 'a1' } }), [t], config, suppressionHash)).toBeDefined();
    expect(rowOwner('quarantine', row({ type: 'identify', userId: 'u', traits: { email: 'ada@example.com' } }), [t], config, suppressionHash)).toBeDefined();
    expect(rowOwner('quarantine', { ...row({}), message: 'not json a1' }, [t], config, suppressionHash)).toBeUndefined();
  });
  it('profiles: by profile id (live, merged-away, merged into) or identity', () => {
    const p = target([], { profileIds: new Set(['p1']) });
    const row = (o: Record<string, unknown>) => ({ profile_id: 'px', identities: '[]', merged_from: '[]', merged_into: null, ...o });
    expect(rowOwner('profiles', row({ profile_id: 'p1' }), [p], config, suppressionHash)).toBeDefined();
    expect(rowOwner('profiles', row({ merged_into: 'p1' }), [p], config, suppressionHash)).toBeDefined();
    expect(
      rowOwner('profiles', row({ identities: JSON.stringify([{ type: 'email', value: 'ada@example.com' }]) }), [t], config, suppressionHash),
    ).toBeDefined();
    expect(rowOwner('profiles', row({}), [p, t], config, suppressionHash)).toBeUndefined();
  });
  it('journey_steps: by profile id, the one personal datum of a row', () => {
    const p = target([], { profileIds: new Set(['p1']) });
    const row = (profile_id: string) => ({
      at: '',
      journey_id: 'j',
      version: 1,
      run_id: 'r',
      profile_id,
      step_id: null,
      action: 'run',
      outcome: 'entered',
      reason: null,
    });
    expect(rowOwner('journey_steps', row('p1'), [p], config, suppressionHash)).toBeDefined();
    expect(rowOwner('journey_steps', row('p2'), [p, t], config, suppressionHash)).toBeUndefined();
    expect(tableOfKey('journey_steps/dt=2025-06-01/p1.welcome.3.json.gz')).toBe('journey_steps');
    expect(ERASURE_LAKE_PREFIXES).toContain('journey_steps/');
  });
  it('filterRows keeps everyone else in order and groups removals per erasure', () => {
    const t2 = { ...target(['user_id:bob']), erasureId: 'e2' };
    const rows = [
      msg({ userId: 'x', messageId: '1' }),
      msg({ anonymousId: 'a1', messageId: '2' }),
      msg({ userId: 'bob', messageId: '3' }),
      msg({ userId: 'y', messageId: '4' }),
    ].map(toEventRow);
    const { kept, removed } = filterRows('events', rows, [t, t2], config, suppressionHash);
    expect(kept.map((r) => r.message_id)).toEqual(['1', '4']);
    expect(removed.get('e1')!.map((r) => r.message_id)).toEqual(['2']);
    expect(removed.get('e2')!.map((r) => r.message_id)).toEqual(['3']);
  });
});

describe('failed lake objects (what an erasure record says)', () => {
  const s3Error = (name: string, status: number | undefined, message: string) =>
    Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
  it('a 403 is lake_access_denied, anything else from S3 lake_object_failed; the error name and status, never the message', () => {
    expect(s3Failure('events/dt=2024-01-01/a.json.gz', 'delete', s3Error('AccessDenied', 403, 'Access Denied'))).toEqual({
      key: 'events/dt=2024-01-01/a.json.gz',
      operation: 'delete',
      code: 'lake_access_denied',
      error: 'AccessDenied',
      httpStatus: 403,
    });
    expect(s3Failure('k', 'read', s3Error('SlowDown', 503, 'Please reduce your request rate'))).toEqual({
      key: 'k',
      operation: 'read',
      code: 'lake_object_failed',
      error: 'SlowDown',
      httpStatus: 503,
    });
    expect(s3Failure('k', 'write', s3Error('TimeoutError', undefined, 'socket hang up'))).toEqual({
      key: 'k',
      operation: 'write',
      code: 'lake_object_failed',
      error: 'TimeoutError',
    });
    // An error's message may quote what it failed on (a row, an address): only a name shaped like an error code is kept.
    expect(s3Failure('k', 'read', s3Error('KMS.DisabledException', 400, 'key disabled')).error).toBe('KMS.DisabledException');
    const f = s3Failure('k', 'read', s3Error('Unexpected "ada@example.com"', 400, 'ada@example.com'));
    expect(f.error).toBe('Error');
    expect(JSON.stringify(f)).not.toContain('ada');
  });
});

describe('invalid messages of an erased person (normalize, before quarantine)', () => {
  it('reads identifiers from a raw message best effort, normalised as the pipeline does', () => {
    const has = (raw: unknown, key: string) => rawMessageHashes(raw, config, suppressionHash).includes(suppressionHash(key));
    // The collector's envelope or a bare message; any type (an invalid one must not hide the email).
    expect(has({ message: { type: 'nonsense', traits: { email: ' ADA@example.com ' } } }, 'email:ada@example.com')).toBe(true);
    expect(has({ type: 'track', traits: { email: 'ada@example.com' } }, 'email:ada@example.com')).toBe(true);
    expect(has({ message: { context: { traits: { phone: '+1 (415) 555-0123' } } } }, 'phone:+14155550123')).toBe(true);
    expect(has({ message: { userId: 42 } }, 'user_id:42')).toBe(true);
    expect(has({ message: { anonymousId: 'a1', timestamp: 'not a date' } }, 'anonymous_id:a1')).toBe(true);
    expect(has({ message: { type: 'track', previousId: 'old' } }, 'user_id:old')).toBe(true);
    for (const raw of [undefined, null, 'text', 42, [], { message: { properties: { email: 'ada@example.com' } } }])
      expect(rawMessageHashes(raw, config, suppressionHash)).toEqual([]);
  });

  it("drops (and counts) a suppressed person's invalid message instead of quarantining it; others are quarantined", async () => {
    const list = fakeList();
    list.suppress('email:ada@example.com');
    const view = new SuppressionView(list.reader);
    const counted = new Map<string, Set<string>>();
    const record = async (drops: Map<string, Set<string>>) => {
      for (const [h, ids] of drops) counted.set(h, new Set([...(counted.get(h) ?? []), ...ids]));
      return new Set(drops.keys());
    };
    const written = new Map<string, string>();
    const rec = (seq: number, body: unknown): KinesisStreamRecord =>
      ({
        eventID: `shardId-000:${seq}`,
        kinesis: { data: Buffer.from(JSON.stringify(body)).toString('base64'), sequenceNumber: String(seq), approximateArrivalTimestamp: 1_700_000_000 },
      }) as unknown as KinesisStreamRecord;
    const envelope = (message: Record<string, unknown>) => ({ message, receivedAt: '2024-01-01T00:00:00.000Z', sourceId: 's' });
    const stats = await processRecords(
      [
        // No userId or anonymousId: refused by validation, yet it carries the erased email.
        rec(1, envelope({ type: 'identify', messageId: 'q-ada', traits: { email: 'Ada@Example.com' } })),
        rec(2, envelope({ type: 'bogus', context: { traits: { email: 'ada@example.com' } } })),
        rec(3, envelope({ type: 'identify', messageId: 'q-bob', traits: { email: 'bob@example.com' } })),
      ],
      {
        country: 'US',
        identityConfig: () => config,
        claimMarkers: async (m) => m.map(() => true),
        getMarkers: async () => new Map(),
        putMarkers: async () => {},
        headObjects: async (keys) => new Map([...keys].map((k) => [k, { exists: false }])) as never,
        putObject: async (key, body) => void written.set(key, gunzipSync(body).toString('utf8')),
        forward: async () => {},
        dropSuppressed: (items, messageOf, cfg, stage) => dropSuppressed(items, messageOf, cfg, stage, { table: TABLES.privacy.name, view, hasher, record }),
      },
    );
    const lake = [...written.values()].join('\n');
    expect(stats.quarantined).toBe(1);
    expect(lake).toContain('bob@example.com');
    expect(lake.toLowerCase()).not.toContain('ada@example.com');
    // Counted on the person's suppression item like any other drop: by messageId, else by sequence number.
    expect(counted.get(suppressionHash('email:ada@example.com'))?.size).toBe(2);
  });
});
