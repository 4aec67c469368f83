/**
 * Existing Segment and RudderStack server SDKs work unchanged against the local stack (docs/api.md#collection-api):
 * `@segment/analytics-node` (JSON, Basic auth, `writeKey`+`sentAt` in the body) and
 * `@rudderstack/rudder-sdk-node` (gzip-compressed body, Basic auth). Every event they send must
 * reach the lake with its type, event, userId and properties.
 */
import { describe, expect, it } from 'vitest';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { lakeEvents } from '../support/lake';
import { useLocalStack } from '../support/stack';
import { until } from '../support/wait';

describe('server SDKs against the local stack', () => {
  const stack = useLocalStack({ name: 'sdk' });

  it('@segment/analytics-node: every call reaches the lake', async () => {
    const analytics = new SegmentAnalytics({ writeKey: 'dev-write-key', host: stack.url, flushInterval: 50, maxRetries: 0 });
    const responses: number[] = [];
    const errors: unknown[] = [];
    analytics.on('http_response', (r) => responses.push(r.status));
    analytics.on('error', (e) => errors.push(e));
    const tag = `seg-${Date.now()}`;
    analytics.identify({ userId: `${tag}-u1`, traits: { plan: 'pro', email: 'seg@example.com' } });
    for (let i = 0; i < 5; i++) analytics.track({ userId: `${tag}-u1`, event: 'Item Viewed', properties: { i, sku: `sku-${i}` } });
    analytics.track({ anonymousId: `${tag}-anon`, event: 'Signed Up', properties: { source: 'ad' } });
    analytics.page({ userId: `${tag}-u1`, name: 'Home', properties: { path: '/' } });
    analytics.screen({ userId: `${tag}-u1`, name: 'Dashboard' });
    analytics.group({ userId: `${tag}-u1`, groupId: `${tag}-g`, traits: { name: 'Acme' } });
    analytics.alias({ previousId: `${tag}-anon`, userId: `${tag}-u1` });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    expect(responses.length).toBeGreaterThan(0);
    expect(responses.every((s) => s === 200)).toBe(true);

    const mine = (rows: Awaited<ReturnType<typeof lakeEvents>>) => rows.filter((r) => r.user_id?.startsWith(tag) || r.anonymous_id?.startsWith(tag));
    const rows = mine(await until('11 rows of this SDK in the lake', lakeEvents, (r) => mine(r).length >= 11));
    expect(rows).toHaveLength(11);
    const tracks = rows.filter((r) => r.type === 'track' && r.event === 'Item Viewed');
    expect(tracks.map((r) => JSON.parse(r.properties).i).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(tracks.every((r) => r.user_id === `${tag}-u1`)).toBe(true);
    expect(JSON.parse(tracks[0]!.properties).sku).toMatch(/^sku-\d$/);
    const anon = rows.find((r) => r.event === 'Signed Up')!;
    expect(anon).toMatchObject({ type: 'track', anonymous_id: `${tag}-anon`, user_id: null });
    expect(JSON.parse(anon.properties)).toEqual({ source: 'ad' });
    expect(rows.map((r) => r.type).sort()).toEqual(['alias', 'group', 'identify', 'page', 'screen', ...Array(6).fill('track')]);
    const identify = rows.find((r) => r.type === 'identify')!;
    expect(JSON.parse(identify.traits)).toMatchObject({ plan: 'pro' });
    // The SDK names itself in context.library; the lake keeps the context.
    expect(JSON.parse(identify.context).library.name).toBe('@segment/analytics-node');
  });

  it('@rudderstack/rudder-sdk-node (gzip on by default): every call reaches the lake', async () => {
    const errors: unknown[] = [];
    const client = new RudderAnalytics('dev-write-key', {
      dataPlaneUrl: stack.url,
      flushAt: 4,
      flushInterval: 50,
      retryCount: 0,
      logLevel: 'error',
      errorHandler: (e: unknown) => void errors.push(e),
    });
    const tag = `rud-${Date.now()}`;
    client.identify({ userId: `${tag}-u1`, traits: { plan: 'team' } });
    for (let i = 0; i < 6; i++) client.track({ userId: `${tag}-u1`, event: 'Checkout Step', properties: { step: i } });
    client.page({ userId: `${tag}-u1`, name: 'Pricing', properties: { path: '/pricing' } });
    client.group({ userId: `${tag}-u1`, groupId: `${tag}-org`, traits: { size: 10 } });
    client.alias({ previousId: `${tag}-old`, userId: `${tag}-u1` });
    client.screen({ userId: `${tag}-u1`, name: 'Settings' });
    await client.flush();
    await new Promise<void>((resolve, reject) => client.flush((err?: Error) => (err ? reject(err) : resolve())));
    expect(errors).toEqual([]);

    const mine = (rows: Awaited<ReturnType<typeof lakeEvents>>) => rows.filter((r) => r.user_id?.startsWith(tag));
    const rows = mine(await until('11 rows of this SDK in the lake', lakeEvents, (r) => mine(r).length >= 11));
    expect(rows).toHaveLength(11);
    const steps = rows.filter((r) => r.type === 'track');
    expect(steps.every((r) => r.event === 'Checkout Step')).toBe(true);
    expect(steps.map((r) => JSON.parse(r.properties).step).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(
      rows
        .filter((r) => r.type !== 'track')
        .map((r) => r.type)
        .sort(),
    ).toEqual(['alias', 'group', 'identify', 'page', 'screen']);
    expect(JSON.parse(rows.find((r) => r.type === 'identify')!.traits)).toMatchObject({ plan: 'team' });
  });
});
