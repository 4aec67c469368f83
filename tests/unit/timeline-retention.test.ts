/** Definitions may not look back further than the timeline keeps events (docs/errors.md `window_exceeds_timeline`). */
import { afterEach, describe, expect, it } from 'vitest';
import { checkTimelineRetention, longestWindowMs, validatePut } from '#shared/admin/definitions';
import { CairnError } from '#shared/errors';
import { ENV, TIMELINE, timelineDays } from '#shared/config/resources';

const DAY = 86_400_000;
afterEach(() => {
  delete process.env[ENV.timelineDays];
});

describe('timeline retention and definition windows', () => {
  it('defaults to the longest window a definition may have (3650 days), from CAIRN_TIMELINE_DAYS otherwise', () => {
    expect(timelineDays()).toBe(TIMELINE.defaultDays);
    expect(TIMELINE.defaultDays).toBe(3650);
    process.env[ENV.timelineDays] = '400';
    expect(timelineDays()).toBe(400);
  });

  it('finds the longest window of a computed trait or a nested event condition', () => {
    const trait = validatePut('computedTrait', 'orders_90d', { id: 'orders_90d', event: 'Order Completed', aggregate: 'count', window: '90d' }, []);
    expect(longestWindowMs(trait)).toBe(90 * DAY);
    const seg = validatePut(
      'segment',
      's',
      {
        id: 's',
        where: {
          any: [
            { event: 'A', within: '30d' },
            { event: 'B', within: '45d' },
          ],
        },
      },
      [],
    );
    expect(longestWindowMs(seg)).toBe(45 * DAY);
  });

  it('rejects a window longer than the retention with a typed error, and accepts one that fits', () => {
    process.env[ENV.timelineDays] = '60';
    expect(() => validatePut('computedTrait', 'ok', { id: 'ok', event: 'X', aggregate: 'count', window: '60d' }, [])).not.toThrow();
    let err: unknown;
    try {
      validatePut('segment', 'long', { id: 'long', where: { event: 'Order Completed', within: '90d' } }, []);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CairnError);
    expect(err).toMatchObject({ code: 'window_exceeds_timeline', status: 400, details: { windowDays: 90, timelineDays: 60 } });
    expect((err as Error).message).toContain('cairn:timelineDays');
    process.env[ENV.timelineDays] = '61';
    const trait = validatePut('computedTrait', 't', { id: 't', event: 'X', aggregate: 'count', window: '61d' }, [], 'f');
    expect(() => checkTimelineRetention(trait, 61)).not.toThrow();
  });
});
