/**
 * The publisher against the local bus (the same EventBridge API): with `matched` (the default) an
 * event no rule of the bus can match is never put — counted in PutEvents entries, the billed unit —
 * while a matching one is delivered as before; `all` puts every event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { startEventBridge, type LocalEventBridge } from '#local/eventbridge/server';
import { useEndpoints } from '#local/emulators';
import { BILLED, eventBridge, requestCounts } from '#shared/aws/clients';
import { BUS } from '#shared/config';
import { eventBridgePublisher } from '#shared/identity/bus';
import type { BusEvent } from '#shared/identity';

const delivered: { detailType: string; detail: any }[] = [];
let eb: LocalEventBridge;

async function until(cond: () => boolean, ms = 5_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('not in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
const entries = () => requestCounts.get(BILLED.eventEntries) ?? 0;

const order: BusEvent = { detailType: 'track', detail: { event: 'Order Completed', properties: { total: 120 } } };
const view: BusEvent = { detailType: 'track', detail: { event: 'Product Viewed', properties: { sku: 's-1' } } };
const entered: BusEvent = { detailType: 'segment.entered', detail: { segment: 'seg-9', profileId: 'p1' } };

describe('publishing only what a rule of the bus can match', () => {
  beforeAll(async () => {
    eb = await startEventBridge({
      dataDir: mkdtempSync(join(tmpdir(), 'cairn-bus-publish-')),
      buses: [BUS.name],
      invoke: async (_fn, event: any) => void delivered.push({ detailType: event['detail-type'], detail: event.detail }),
    });
    useEndpoints({ events: eb.endpoint });
    await eventBridge().send(
      new PutRuleCommand({
        Name: 'orders',
        EventBusName: BUS.name,
        EventPattern: JSON.stringify({ source: [BUS.source], 'detail-type': ['track'], detail: { event: ['Order Completed'] } }),
      }),
    );
    await eventBridge().send(
      new PutTargetsCommand({
        Rule: 'orders',
        EventBusName: BUS.name,
        Targets: [{ Id: 'fn', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:observer' }],
      }),
    );
  });
  afterAll(async () => {
    await eb.close();
  });

  it('matched (the default): the view and the segment event no rule matches are not put; the order is delivered', async () => {
    const before = entries();
    await eventBridgePublisher(BUS.name, { mode: 'matched' }).publish([view, order, entered]);
    expect(entries() - before).toBe(1);
    await until(() => delivered.length === 1);
    expect(delivered[0]).toMatchObject({ detailType: 'track', detail: { event: 'Order Completed' } });
  });

  it('a rule added later receives events once the publisher lists the rules again', async () => {
    const publisher = eventBridgePublisher(BUS.name, { mode: 'matched', refreshMs: 0 });
    await eventBridge().send(
      new PutRuleCommand({
        Name: 'seg-9',
        EventBusName: BUS.name,
        EventPattern: JSON.stringify({ 'detail-type': ['segment.entered'], detail: { segment: ['seg-9'] } }),
      }),
    );
    await eventBridge().send(
      new PutTargetsCommand({ Rule: 'seg-9', EventBusName: BUS.name, Targets: [{ Id: 'fn', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:observer' }] }),
    );
    const before = entries();
    await publisher.publish([view, entered]);
    expect(entries() - before).toBe(1);
    await until(() => delivered.some((d) => d.detailType === 'segment.entered'));
  });

  it('all: every event is put', async () => {
    const before = entries();
    await eventBridgePublisher(BUS.name, { mode: 'all' }).publish([view, order, entered]);
    expect(entries() - before).toBe(3);
  });
});
