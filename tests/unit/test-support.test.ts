/** The shared test support (tests/support): factories give valid, unique data; `until` fails naming what it awaited. */
import { describe, expect, it } from 'vitest';
import { validateDefinition } from '#shared/definitions/index';
import { computedTrait, identify, journey, order, page, segment, track, trackBatch } from '../support/factories';
import { sleep, until } from '../support/wait';

describe('test factories', () => {
  it('messages carry unique ids and timestamps', () => {
    const ms = [identify('ada', { email: 'ada@example.com' }), track('ada', 'Ping'), page('ada', 'Home'), order('ada', 10)];
    expect(new Set(ms.map((m) => m.messageId)).size).toBe(4);
    for (const m of ms) expect(Number.isNaN(Date.parse(m.timestamp))).toBe(false);
    expect(order('ada', 10, 'SH-002').properties).toMatchObject({ total: 10, store_id: 'SH-002' });
    expect(trackBatch('a', 3).map((m) => m.messageId)).toEqual(['a-0', 'a-1', 'a-2']);
  });

  it('definition builders are valid against the definitions grammar', () => {
    const docs = [
      computedTrait('spend', 'sum', { event: 'Order Completed', property: 'properties.total' }),
      computedTrait('orders_30d', 'count', { event: 'Order Completed', window: '30d' }),
      segment('big', { computed: 'spend', gte: 100 }),
      journey('welcome', 'Signed Up'),
      journey('vip', { segment: 'big', on: 'entered' }),
    ];
    docs.forEach((d, index) => {
      expect(validateDefinition(d, { file: 'factories', index }).kind).toBe(d.kind);
    });
  });
});

describe('until', () => {
  it('returns the first value that passes', async () => {
    let n = 0;
    expect(
      await until(
        'n to reach 3',
        () => ++n,
        (v) => v >= 3,
        { every: 1 },
      ),
    ).toBe(3);
  });

  it('throws on timeout, naming what it awaited and the last value', async () => {
    await expect(
      until(
        'the answer',
        async () => ({ answer: 41 }),
        (v) => v.answer === 42,
        { ms: 30, every: 5 },
      ),
    ).rejects.toThrow(/timed out after 30 ms waiting for the answer; last value: \{"answer":41\}/);
    await sleep(1);
  });
});
