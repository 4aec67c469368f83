/**
 * The lake's lifecycle rules for erasure at scale (docs/privacy.md): quarantine/ expires
 * LAKE.quarantineExpiryDays after an object is written (`cairn:quarantineDays`), so every erasure
 * pass, which reads quarantine/ whole, reads a bounded amount; profiles/ and the compacted events
 * (parquet/) never expire, and of events/ only the objects compaction tagged (their rows are in Parquet).
 * And the retention behind every "expires by" of an erasure's status (RETENTION, shared/privacy/reach.ts):
 * the stack must set each one it reports.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { COMPACTED_EVENTS_MIN_DAYS, COMPACTION, DEDUP_WINDOW_SECONDS, ENV, IMPORTS, LAKE, RETENTION } from '#shared/config/resources';
import { ATHENA_RESULTS_PREFIX } from '#infra/constructs/lake';
import { synthCairn } from './synth';

type Json = Record<string, any>;
function rules(context: Record<string, unknown> = {}): Json[] {
  const { stack, template } = synthCairn({}, context);
  const id = stack.getLogicalId(stack.lake.bucket.node.defaultChild as never);
  return (template.toJSON().Resources as Record<string, Json>)[id]!.Properties.LifecycleConfiguration.Rules as Json[];
}

describe('lake lifecycle', () => {
  // Synthesising the stack is CPU-bound work that takes minutes on a loaded 2-core machine: the default
  // synth runs once, in a hook (hookTimeout), not inside a test's timeout.
  let defaults: Json[];
  beforeAll(() => {
    defaults = rules();
  });
  it('expire-quarantine: objects under quarantine/ expire after LAKE.quarantineExpiryDays (30) by default', () => {
    const r = defaults;
    expect(LAKE.quarantineExpiryDays).toBe(30);
    expect(r).toContainEqual({ Id: 'expire-quarantine', Prefix: LAKE.quarantinePrefix, ExpirationInDays: 30, Status: 'Enabled' });
    // Noncurrent versions (what the expiry leaves behind a delete marker) go 30 days later.
    expect(r.some((x) => x.Id === 'expire-old-versions' && x.NoncurrentVersionExpiration?.NoncurrentDays === 30)).toBe(true);
    // profiles/ (daily snapshots included) and the compacted events under parquet/ are never expired; of
    // events/ only the objects λ compact tagged once a published Parquet part holds their rows (below).
    for (const x of r.filter((y) => y.ExpirationInDays && y.Id !== 'expire-compacted-events')) {
      expect(
        x.Prefix?.startsWith(LAKE.eventsPrefix) || x.Prefix?.startsWith(LAKE.profilesPrefix) || x.Prefix?.startsWith(LAKE.parquetEventsPrefix) || !x.Prefix,
      ).toBe(false);
    }
  });

  it('expire-compacted-events: only events/ objects tagged by compaction expire, RETENTION.compactedEventsDays after they were written', () => {
    expect(defaults).toContainEqual({
      Id: 'expire-compacted-events',
      Prefix: LAKE.eventsPrefix,
      TagFilters: [{ Key: COMPACTION.expiryTag.key, Value: COMPACTION.expiryTag.value }],
      ExpirationInDays: RETENTION.compactedEventsDays,
      Status: 'Enabled',
    });
    expect(rules({ 'cairn:compactedEventsDays': '30' })).toContainEqual(expect.objectContaining({ Id: 'expire-compacted-events', ExpirationInDays: 30 }));
    // Normalize heads the objects its dedup markers name for the dedup window (72 h): they must outlive it and the settle time.
    expect(COMPACTED_EVENTS_MIN_DAYS).toBeGreaterThanOrEqual(Math.ceil((DEDUP_WINDOW_SECONDS / 3600 + COMPACTION.settleHours) / 24));
    expect(() => rules({ 'cairn:compactedEventsDays': String(COMPACTED_EVENTS_MIN_DAYS - 1) })).toThrow(/cairn:compactedEventsDays/);
  }, 180_000); // a second synth: a bound, as the hooks have, not a timing

  it('cairn:quarantineDays sets it; a bad value fails the synth', () => {
    expect(rules({ 'cairn:quarantineDays': '7' })).toContainEqual(expect.objectContaining({ Id: 'expire-quarantine', ExpirationInDays: 7 }));
    expect(() => rules({ 'cairn:quarantineDays': '0' })).toThrow(/cairn:quarantineDays/);
  }, 180_000); // two synths: a bound, as the hooks have, not a timing

  it('sets the retention an erasure reports as "expires by": noncurrent versions, athena-results/, aws/lambda/, tagged imports/', () => {
    const r = defaults;
    expect(r).toContainEqual({
      Id: 'expire-old-versions',
      NoncurrentVersionExpiration: { NoncurrentDays: RETENTION.noncurrentVersionDays },
      Status: 'Enabled',
    });
    expect(r).toContainEqual({ Id: 'expire-athena-results', Prefix: ATHENA_RESULTS_PREFIX, ExpirationInDays: RETENTION.athenaResultsDays, Status: 'Enabled' });
    expect(r).toContainEqual({ Id: 'expire-failed-batches', Prefix: LAKE.lambdaFailurePrefix, ExpirationInDays: RETENTION.failedBatchDays, Status: 'Enabled' });
    // imports/: only what λ import tagged (dropped files, rejects, reports, checkpoints), so manifests stay.
    expect(r).toContainEqual({
      Id: 'expire-imports',
      Prefix: IMPORTS.prefix,
      TagFilters: [{ Key: IMPORTS.expiryTag.key, Value: IMPORTS.expiryTag.value }],
      ExpirationInDays: RETENTION.importDays,
      Status: 'Enabled',
    });
    expect(rules({ 'cairn:importDays': '7' })).toContainEqual(expect.objectContaining({ Id: 'expire-imports', ExpirationInDays: 7 }));
    expect(() => rules({ 'cairn:importDays': '0' })).toThrow(/cairn:importDays/);
  });

  it('the journey failure queue keeps its messages RETENTION.journeyFailureQueueDays, and λ admin reports the import expiry the stack sets', () => {
    const { stack, template } = synthCairn({}, { 'cairn:importDays': '9' });
    const resources = template.toJSON().Resources as Record<string, Json>;
    const queue = resources[stack.getLogicalId(stack.journeys.failureQueue.node.defaultChild as never)]!;
    expect(queue.Properties.MessageRetentionPeriod).toBe(RETENTION.journeyFailureQueueDays * 86_400);
    const admin = resources[stack.getLogicalId(stack.catalog.fn('admin').function.node.defaultChild as never)]!;
    expect(admin.Properties.Environment.Variables[ENV.importDays]).toBe('9');
  }, 180_000); // a synth: a bound, as the hooks have, not a timing
});
