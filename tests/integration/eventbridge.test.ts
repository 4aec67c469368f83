import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  InvalidEventPatternException,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { startEventBridge, type LocalEventBridge } from '#local/eventbridge/server';

const fnArn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const client = (endpoint: string) =>
  new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Call = { fn: string; event: any };

describe('local EventBridge driven by the AWS SDK', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-eb-'));
  const calls: Call[] = [];
  let failFor = new Map<string, number>(); // function name → remaining failures
  let eb: LocalEventBridge;
  let sdk: EventBridgeClient;

  beforeAll(async () => {
    eb = await startEventBridge({
      dataDir,
      invoke: async (fn, event) => {
        calls.push({ fn, event });
        const left = failFor.get(fn) ?? 0;
        if (left > 0) {
          failFor.set(fn, left - 1);
          throw new Error(`${fn} failed`);
        }
      },
      retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
    });
    sdk = client(eb.endpoint);
  });
  afterAll(async () => eb?.close());
  afterEach(() => {
    calls.length = 0;
    failFor = new Map();
  });

  it('creates, lists, describes and deletes rules and targets like AWS', async () => {
    const put = await sdk.send(new PutRuleCommand({ Name: 'crud-a', EventPattern: JSON.stringify({ source: ['cairn'] }), Description: 'a' }));
    expect(put.RuleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/crud-a');
    await sdk.send(new PutRuleCommand({ Name: 'crud-b', EventPattern: JSON.stringify({ source: ['x'] }), State: 'DISABLED' }));
    await sdk.send(new PutRuleCommand({ Name: 'crud-c', EventPattern: JSON.stringify({ source: ['y'] }) }));
    const d = await sdk.send(new DescribeRuleCommand({ Name: 'crud-b' }));
    expect(d).toMatchObject({ Name: 'crud-b', State: 'DISABLED', EventBusName: 'default', EventPattern: '{"source":["x"]}' });

    const page1 = await sdk.send(new ListRulesCommand({ NamePrefix: 'crud-', Limit: 2 }));
    expect(page1.Rules?.map((r) => r.Name)).toEqual(['crud-a', 'crud-b']);
    expect(page1.NextToken).toBeTruthy();
    const page2 = await sdk.send(new ListRulesCommand({ NamePrefix: 'crud-', Limit: 2, NextToken: page1.NextToken }));
    expect(page2.Rules?.map((r) => r.Name)).toEqual(['crud-c']);
    expect(page2.NextToken).toBeUndefined();

    const pt = await sdk.send(
      new PutTargetsCommand({
        Rule: 'crud-a',
        Targets: [
          { Id: 't1', Arn: fnArn('resolve') },
          { Id: 't2', Arn: 'arn:aws:sqs:us-east-1:000000000000:q' },
        ],
      }),
    );
    expect(pt.FailedEntryCount).toBe(1);
    expect(pt.FailedEntries?.[0]?.TargetId).toBe('t2');
    const lt = await sdk.send(new ListTargetsByRuleCommand({ Rule: 'crud-a' }));
    expect(lt.Targets).toEqual([{ Id: 't1', Arn: fnArn('resolve') }]);

    await expect(sdk.send(new DeleteRuleCommand({ Name: 'crud-a' }))).rejects.toMatchObject({ name: 'ValidationException' });
    await sdk.send(new RemoveTargetsCommand({ Rule: 'crud-a', Ids: ['t1'] }));
    await sdk.send(new DeleteRuleCommand({ Name: 'crud-a' }));
    await expect(sdk.send(new DescribeRuleCommand({ Name: 'crud-a' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(sdk.send(new ListTargetsByRuleCommand({ Rule: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(sdk.send(new PutRuleCommand({ Name: 'r', EventPattern: '{}', EventBusName: 'missing-bus' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    const bad = sdk.send(new PutRuleCommand({ Name: 'bad', EventPattern: JSON.stringify({ detail: { n: [{ numeric: ['>', 'x'] }] } }) }));
    await expect(bad).rejects.toBeInstanceOf(InvalidEventPatternException);
    await expect(bad).rejects.toThrow(/detail\.n\.numeric/);
  });

  it('delivers matching events to Lambda targets with the EventBridge event shape, and skips the rest', async () => {
    await sdk.send(
      new PutRuleCommand({
        Name: 'tracks',
        EventBusName: 'cairn',
        EventPattern: JSON.stringify({ source: ['cairn'], 'detail-type': ['track'], detail: { event: [{ prefix: 'Order' }] } }),
      }),
    );
    await sdk.send(
      new PutTargetsCommand({
        Rule: 'tracks',
        EventBusName: 'cairn',
        Targets: [
          { Id: 'whole', Arn: fnArn('journeys') },
          { Id: 'path', Arn: fnArn('pathfn'), InputPath: '$.detail.properties' },
          { Id: 'const', Arn: fnArn('constfn'), Input: '{"fixed":true}' },
          {
            Id: 'xf',
            Arn: fnArn('xform'),
            InputTransformer: {
              InputPathsMap: { ev: '$.detail.event', rev: '$.detail.properties.revenue', src: '$.source', nope: '$.detail.absent' },
              InputTemplate: '{"what": <ev>, "revenue": <rev>, "text": "<ev> from <src>", "rule": "<aws.events.rule-name>", "missing": <nope>}',
            },
          },
        ],
      }),
    );
    await sdk.send(new PutRuleCommand({ Name: 'identifies', EventBusName: 'cairn', EventPattern: JSON.stringify({ 'detail-type': ['identify'] }) }));
    await sdk.send(new PutTargetsCommand({ Rule: 'identifies', EventBusName: 'cairn', Targets: [{ Id: 'i', Arn: fnArn('never') }] }));
    await sdk.send(new PutRuleCommand({ Name: 'off', EventBusName: 'cairn', State: 'DISABLED', EventPattern: JSON.stringify({ source: ['cairn'] }) }));
    await sdk.send(new PutTargetsCommand({ Rule: 'off', EventBusName: 'cairn', Targets: [{ Id: 'o', Arn: fnArn('disabled') }] }));

    const res = await sdk.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'cairn',
            Source: 'cairn',
            DetailType: 'track',
            Detail: JSON.stringify({ event: 'Order Completed', properties: { revenue: 42 } }),
            Resources: ['r1'],
            Time: new Date('2024-05-01T10:00:00Z'),
          },
          { EventBusName: 'cairn', Source: 'cairn', DetailType: 'track', Detail: JSON.stringify({ event: 'Page Viewed' }) },
          { EventBusName: 'cairn', Source: 'cairn', DetailType: 'track', Detail: '[1,2]' },
        ],
      }),
    );
    expect(res.FailedEntryCount).toBe(1);
    expect(res.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.Entries?.[2]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    expect(await eb.drain(5_000)).toBe(true);

    const byFn = (fn: string) => calls.filter((c) => c.fn === fn).map((c) => c.event);
    expect(byFn('journeys')).toEqual([
      {
        version: '0',
        id: res.Entries![0]!.EventId,
        'detail-type': 'track',
        source: 'cairn',
        account: '000000000000',
        time: '2024-05-01T10:00:00Z',
        region: 'us-east-1',
        resources: ['r1'],
        detail: { event: 'Order Completed', properties: { revenue: 42 } },
      },
    ]);
    expect(byFn('pathfn')).toEqual([{ revenue: 42 }]);
    expect(byFn('constfn')).toEqual([{ fixed: true }]);
    expect(byFn('xform')).toEqual([{ what: 'Order Completed', revenue: 42, text: 'Order Completed from cairn', rule: 'tracks', missing: '' }]); // a missing path outside quotes: "" as AWS recorded it
    expect(byFn('never')).toEqual([]);
    expect(byFn('disabled')).toEqual([]);
    expect(calls).toHaveLength(4);
  });

  it('enforces PutEvents limits', async () => {
    const entry = { Source: 'cairn', DetailType: 'track', Detail: '{}' };
    await expect(sdk.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) }))).rejects.toMatchObject({ name: 'ValidationException' });
    const big = { Source: 'cairn', DetailType: 'track', Detail: JSON.stringify({ x: 'a'.repeat(200 * 1024) }) };
    await expect(sdk.send(new PutEventsCommand({ Entries: [big, big] }))).rejects.toThrow(/over the limit/);
    const r = await sdk.send(new PutEventsCommand({ Entries: [{ ...entry, EventBusName: 'nope' }, { DetailType: 'x', Detail: '{}' } as never] }));
    expect(r.FailedEntryCount).toBe(2);
  });

  it('retries a failing target with backoff until it succeeds', async () => {
    await sdk.send(new PutRuleCommand({ Name: 'flaky', EventPattern: JSON.stringify({ source: ['flaky'] }) }));
    await sdk.send(new PutTargetsCommand({ Rule: 'flaky', Targets: [{ Id: 'f', Arn: fnArn('flakyfn') }] }));
    failFor.set('flakyfn', 2);
    const before = eb.stats();
    await sdk.send(new PutEventsCommand({ Entries: [{ Source: 'flaky', DetailType: 'd', Detail: '{"n":1}' }] }));
    expect(await eb.drain(5_000)).toBe(true);
    const attempts = calls.filter((c) => c.fn === 'flakyfn');
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.event.id)).size).toBe(1);
    const after = eb.stats();
    expect(after.retried - before.retried).toBe(2);
    expect(after.delivered - before.delivered).toBe(1);
  });

  it('dead-letters an event after the last attempt', async () => {
    await sdk.send(new PutRuleCommand({ Name: 'broken', EventPattern: JSON.stringify({ source: ['broken'] }) }));
    await sdk.send(new PutTargetsCommand({ Rule: 'broken', Targets: [{ Id: 'b', Arn: fnArn('brokenfn') }] }));
    failFor.set('brokenfn', 100);
    const put = await sdk.send(new PutEventsCommand({ Entries: [{ Source: 'broken', DetailType: 'd', Detail: '{}' }] }));
    expect(await eb.drain(5_000)).toBe(true);
    expect(calls.filter((c) => c.fn === 'brokenfn')).toHaveLength(4);
    const dead = readFileSync(join(dataDir, 'eventbridge', 'dead-letter.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(dead.at(-1)).toMatchObject({
      functionName: 'brokenfn',
      attempts: 4,
      error: 'brokenfn failed',
      origin: { rule: 'broken', target: 'b', eventId: put.Entries![0]!.EventId },
    });
  });

  it('answers TestEventPattern like AWS for every validated case', async () => {
    const cases = JSON.parse(readFileSync(new URL('../fixtures/eventbridge-patterns/cases.json', import.meta.url), 'utf8')) as {
      name: string;
      expect: string;
      event: unknown;
      pattern: unknown;
    }[];
    for (const c of cases) {
      const send = sdk.send(new TestEventPatternCommand({ EventPattern: JSON.stringify(c.pattern), Event: JSON.stringify(c.event) }));
      if (c.expect === 'invalid') await expect(send, c.name).rejects.toBeInstanceOf(InvalidEventPatternException);
      else expect((await send).Result, c.name).toBe(c.expect === 'match');
    }
    await expect(sdk.send(new TestEventPatternCommand({ EventPattern: '{"source":["a"]}', Event: '{"source":"a"}' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('manages event buses', async () => {
    const c = await sdk.send(new CreateEventBusCommand({ Name: 'extra' }));
    expect(c.EventBusArn).toBe('arn:aws:events:us-east-1:000000000000:event-bus/extra');
    await expect(sdk.send(new CreateEventBusCommand({ Name: 'extra' }))).rejects.toThrow(/already exists/);
    const d = await sdk.send(new DescribeEventBusCommand({ Name: 'extra' }));
    expect(d.Arn).toBe(c.EventBusArn);
    expect(d.CreationTime).toBeInstanceOf(Date);
    const l = await sdk.send(new ListEventBusesCommand({}));
    expect(l.EventBuses?.map((b) => b.Name)).toEqual(expect.arrayContaining(['default', 'cairn', 'extra']));
    const r = await sdk.send(new PutRuleCommand({ Name: 'on-extra', EventBusName: c.EventBusArn, EventPattern: '{"source":["s"]}' }));
    expect(r.RuleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/extra/on-extra');
  });
});

describe('local EventBridge durability', () => {
  it('keeps rules, targets and accepted-but-undelivered events across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-eb-restart-'));
    // First life: the target never completes, so the event is accepted but not delivered.
    const hung: Call[] = [];
    const first = await startEventBridge({
      dataDir,
      invoke: (fn, event) => {
        hung.push({ fn, event });
        return new Promise(() => {});
      },
    });
    const sdk1 = client(first.endpoint);
    await sdk1.send(new PutRuleCommand({ Name: 'keep', EventBusName: 'cairn', EventPattern: JSON.stringify({ detail: { n: [{ numeric: ['>=', 2] }] } }) }));
    await sdk1.send(new PutTargetsCommand({ Rule: 'keep', EventBusName: 'cairn', Targets: [{ Id: 'k', Arn: fnArn('keeper'), InputPath: '$.detail' }] }));
    const put = await sdk1.send(
      new PutEventsCommand({ Entries: [1, 2, 3].map((n) => ({ EventBusName: 'cairn', Source: 's', DetailType: 'd', Detail: JSON.stringify({ n }) })) }),
    );
    expect(put.FailedEntryCount).toBe(0);
    await until(() => hung.length === 2);
    expect(await first.drain(50)).toBe(false);
    await first.close();

    // Second life: same data dir; the two matched deliveries arrive; the rule is still there.
    const delivered: Call[] = [];
    const second = await startEventBridge({
      dataDir,
      invoke: async (fn, event) => {
        delivered.push({ fn, event });
      },
    });
    try {
      expect(await second.drain(5_000)).toBe(true);
      expect(delivered.map((c) => c.event.n).sort()).toEqual([2, 3]);
      expect(delivered.every((c) => c.fn === 'keeper')).toBe(true);
      const sdk2 = client(second.endpoint);
      const rules = await sdk2.send(new ListRulesCommand({ EventBusName: 'cairn' }));
      expect(rules.Rules?.map((r) => r.Name)).toEqual(['keep']);
      await sdk2.send(new DisableRuleCommand({ Name: 'keep', EventBusName: 'cairn' }));
      await sdk2.send(new PutEventsCommand({ Entries: [{ EventBusName: 'cairn', Source: 's', DetailType: 'd', Detail: '{"n":5}' }] }));
      expect(await second.drain(5_000)).toBe(true);
      expect(delivered).toHaveLength(2);
    } finally {
      await second.close();
    }

    // Third life: nothing is delivered twice once acknowledged.
    const third: Call[] = [];
    const again = await startEventBridge({
      dataDir,
      invoke: async (fn, event) => {
        third.push({ fn, event });
      },
    });
    expect(await again.drain(1_000)).toBe(true);
    expect(third).toEqual([]);
    expect(again.stats().pending).toBe(0);
    await again.close();
  });
});
