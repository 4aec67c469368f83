/**
 * The deploy settings that price capacity instead of requests (issue 16, docs/deploy.md#dynamodb-capacity,
 * docs/cost.md): `cairn:dynamoDbCapacity=provisioned` (auto-scaled tables, ranges from the event rate) and
 * `cairn:streamRetentionHours` (the mappings' record age, the dedup window and the erasure reach follow it).
 * The defaults stay as they were: on-demand tables, 72 h streams.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import {
  compactedEventsMinDays,
  DYNAMODB_CAPACITY,
  dedupWindowSeconds,
  ENV,
  FUNCTIONS,
  maxRecordAgeSeconds,
  STREAMS,
  TABLES,
  tableCapacity,
} from '#shared/config/resources';
import { CONTEXT, importRate, resolveSettings } from '#infra/settings';
import { synthCairn } from './synth';

type Json = Record<string, any>;
const withContext = (context: Record<string, unknown>) => new Stack(new App({ context }), 'S');
const provisionedNames = Object.keys(DYNAMODB_CAPACITY.tables) as (keyof typeof TABLES)[];

/** Resources by logical id, and helpers over them. */
function synth(context: Record<string, unknown>) {
  const resources = synthCairn({}, context).template.toJSON().Resources as Record<string, Json>;
  const entries = Object.entries(resources);
  const tableId = (name: string) => entries.find(([, r]) => r.Type === 'AWS::DynamoDB::Table' && r.Properties.TableName === name)![0];
  const targets = (id: string) =>
    entries.filter(([, r]) => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget' && JSON.stringify(r.Properties.ResourceId).includes(`"Ref":"${id}"`));
  const policyOf = (targetId: string) =>
    entries.find(([, r]) => r.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy' && r.Properties.ScalingTargetId?.Ref === targetId)?.[1];
  return { resources, entries, tableId, targets, policyOf };
}

describe('defaults: on-demand tables, 72 h streams (unchanged)', () => {
  let s: ReturnType<typeof synth>;
  beforeAll(() => {
    s = synth({});
  });

  it('every table PAY_PER_REQUEST, no auto scaling', () => {
    const tables = s.entries.filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(Object.keys(TABLES).length);
    for (const [, t] of tables) expect(t.Properties.BillingMode, t.Properties.TableName).toBe('PAY_PER_REQUEST');
    expect(s.entries.filter(([, r]) => r.Type.startsWith('AWS::ApplicationAutoScaling::'))).toEqual([]);
  });

  it('streams keep 72 h; the mappings give up after 24 h', () => {
    for (const [, st] of s.entries.filter(([, r]) => r.Type === 'AWS::Kinesis::Stream')) expect(st.Properties.RetentionPeriodHours).toBe(72);
    const ages = s.entries.filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties.MaximumRecordAgeInSeconds);
    expect(ages).toEqual([86_400, 86_400]);
    expect(resolveSettings(withContext({})).streamRetentionHours).toBe(STREAMS.raw.retentionHours);
    expect(resolveSettings(withContext({})).compactedEventsDays).toBe(7);
  });
});

describe('cairn:dynamoDbCapacity=provisioned', () => {
  const eventsPerSecond = 193; // the cost bench's 100 million events a month
  let s: ReturnType<typeof synth>;
  beforeAll(() => {
    s = synth({ [CONTEXT.dynamoDbCapacity]: 'provisioned', [CONTEXT.eventsPerSecond]: String(eventsPerSecond) });
  });

  it('the per-event tables are PROVISIONED at their minimum, the others stay on-demand', () => {
    const settings = resolveSettings(withContext({ [CONTEXT.eventsPerSecond]: String(eventsPerSecond) }));
    for (const name of Object.keys(TABLES) as (keyof typeof TABLES)[]) {
      const t = s.resources[s.tableId(TABLES[name].name)]!;
      const c = tableCapacity(name, eventsPerSecond, importRate(settings.shards.raw));
      if (provisionedNames.includes(name)) {
        expect(t.Properties.BillingMode ?? 'PROVISIONED', name).toBe('PROVISIONED');
        expect(t.Properties.ProvisionedThroughput, name).toEqual({ ReadCapacityUnits: c!.reads.min, WriteCapacityUnits: c!.writes.min });
      } else {
        expect(c, name).toBeUndefined();
        expect(t.Properties.BillingMode, name).toBe('PAY_PER_REQUEST');
      }
    }
  });

  it('each provisioned table (and index) has a read and a write scalable target with its range, tracked at 70 % utilisation', () => {
    const settings = resolveSettings(withContext({ [CONTEXT.eventsPerSecond]: String(eventsPerSecond) }));
    for (const name of provisionedNames) {
      const id = s.tableId(TABLES[name].name);
      const c = tableCapacity(name, eventsPerSecond, importRate(settings.shards.raw))!;
      const indexes = (TABLES[name] as { globalIndexes?: { name: string }[] }).globalIndexes ?? [];
      const targets = s.targets(id);
      expect(targets, name).toHaveLength(2 * (1 + indexes.length));
      for (const [dim, range] of [
        ['Read', c.reads],
        ['Write', c.writes],
      ] as const) {
        for (const scope of ['table', ...indexes.map(() => 'index')]) {
          const found = targets.filter(([, r]) => r.Properties.ScalableDimension === `dynamodb:${scope}:${dim}CapacityUnits`);
          expect(found.length, `${name} ${scope} ${dim}`).toBeGreaterThanOrEqual(1);
          for (const [targetId, target] of found) {
            expect(target.Properties).toMatchObject({ MinCapacity: range.min, MaxCapacity: range.max, ServiceNamespace: 'dynamodb' });
            const policy = s.policyOf(targetId)!;
            expect(policy.Properties.PolicyType).toBe('TargetTrackingScaling');
            expect(policy.Properties.TargetTrackingScalingPolicyConfiguration).toMatchObject({
              TargetValue: DYNAMODB_CAPACITY.targetUtilizationPercent,
              PredefinedMetricSpecification: { PredefinedMetricType: `DynamoDB${dim}CapacityUtilization` },
            });
          }
        }
      }
    }
  });

  it('ranges by hand: dedup at 193 events/s with an import at 500 rows/s', () => {
    // Trough: 193 / 5 × 0.25 = 9.65 events/s × 1.1 WCU / 0.7 = 15.2 → 16. Peak: (193 × 1.5 × 1.1 + 500 × 1.1) / 0.7 = 1,240.6 → 1,241.
    // Reads (markers read only for redeliveries, 0.05 per event): 9.65 × 0.05 / 0.7 = 0.69 → 1; peak 193 × 1.5 × 0.05 / 0.7 = 21 < jobReadUnits (1,000).
    expect(tableCapacity('dedup', 193, 500)).toEqual({ writes: { min: 16, max: 1241 }, reads: { min: 1, max: 1000 } });
    expect(tableCapacity('segmentMembers', 193, 500)!.reads).toEqual({ min: 1, max: 1000 });
    expect(tableCapacity('sources', 193, 500)).toBeUndefined();
  });

  it('refuses the on-demand caps beside it, and an unknown mode, naming the setting', () => {
    expect(() => resolveSettings(withContext({ [CONTEXT.dynamoDbCapacity]: 'provisioned', [CONTEXT.maxTableWriteUnits]: '100' }))).toThrow(
      CONTEXT.dynamoDbCapacity,
    );
    expect(() => resolveSettings(withContext({ [CONTEXT.dynamoDbCapacity]: 'reserved' }))).toThrow(CONTEXT.dynamoDbCapacity);
  });
});

describe('cairn:streamRetentionHours', () => {
  it('24: both streams keep 24 h, the mappings give up after 23 h, normalize and admin are told', () => {
    const s = synth({ [CONTEXT.streamRetentionHours]: '24' });
    for (const [, st] of s.entries.filter(([, r]) => r.Type === 'AWS::Kinesis::Stream')) expect(st.Properties.RetentionPeriodHours).toBe(24);
    const ages = s.entries.filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties.MaximumRecordAgeInSeconds);
    expect(ages).toEqual([23 * 3600, 23 * 3600]);
    const envs = s.entries
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([, f]) => f.Properties.Environment?.Variables?.[ENV.streamRetentionHours])
      .filter((v) => v !== undefined);
    // λ normalize (the dedup window) and λ admin (the erasure reach): the functions whose env names it.
    const named = Object.values(FUNCTIONS).filter((f) => (f.env as readonly string[]).includes('streamRetentionHours')).length;
    expect(named).toBe(2);
    expect(envs).toEqual(Array.from({ length: named }, () => '24'));
  });

  it('the record age stays under the retention, the dedup window equals the raw retention, compacted objects outlive it', () => {
    for (const hours of [24, 25, 48, 72, 119, 120, 168]) {
      const s = resolveSettings(withContext({ [CONTEXT.streamRetentionHours]: String(hours) }));
      expect(maxRecordAgeSeconds(FUNCTIONS.normalize.kinesis, hours)).toBeLessThan(hours * 3600);
      expect(dedupWindowSeconds(hours)).toBe(hours * 3600);
      expect(s.compactedEventsDays).toBeGreaterThanOrEqual(compactedEventsMinDays(dedupWindowSeconds(hours)));
    }
    // The default 7 days until 119 h; 168 h needs ceil((168 + 25) / 24) + 1 = 10.
    expect(resolveSettings(withContext({ [CONTEXT.streamRetentionHours]: '168' })).compactedEventsDays).toBe(10);
    expect(() => resolveSettings(withContext({ [CONTEXT.streamRetentionHours]: '168', [CONTEXT.compactedEventsDays]: '7' }))).toThrow(
      CONTEXT.streamRetentionHours,
    );
  });

  it.each(['23', '169', '72.5', 'abc', '0'])('rejects %s naming the setting', (v) => {
    expect(() => resolveSettings(withContext({ [CONTEXT.streamRetentionHours]: v }))).toThrow(CONTEXT.streamRetentionHours);
  });
});
