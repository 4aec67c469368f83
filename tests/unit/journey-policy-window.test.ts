/**
 * Quiet hours and send days in the person's time zone (shared/journeys/policy/window.ts,
 * shared/definitions/zone.ts): the wall-clock maths against Intl, DST changes included, and
 * property tests over zones, instants and windows — a held message goes out at the first instant
 * its window is open, never inside quiet hours, never later than needed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInstantAt, instantsAt, isTimeZone, localTime } from '#shared/definitions/zone';
import { parseDefinitions } from '#shared/definitions/parse';
import type { PolicyDef } from '#shared/definitions/types';
import { isOpen, nextSendTime, personZone, type SendWindow } from '#shared/journeys/policy/window';

const H = 3_600_000;
const M = 60_000;
const hm = (h: number, m = 0) => h * 60 + m;

/** Zones with DST in both hemispheres, half-hour and 45-minute offsets, a 30-minute DST shift, DST at midnight, and none. */
const ZONES = [
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'America/Sao_Paulo',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Pacific/Chatham',
  'America/Santiago',
  'America/Havana',
  'Asia/Tokyo',
  'Pacific/Kiritimati',
  'America/St_Johns',
];

const policy = (yaml: string) => parseDefinitions(yaml, 'policy.yaml')[0] as PolicyDef;

describe('time zones', () => {
  it('knows IANA names, refuses others', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    for (const bad of ['Mars/Olympus', '', 'Europe/Paris\u0000', 42, null, 'x'.repeat(100)]) expect(isTimeZone(bad)).toBe(false);
  });

  it('reads the wall clock of an instant, DST included', () => {
    // 2025-03-30: Paris springs forward at 01:00Z (02:00 → 03:00).
    expect(localTime(Date.parse('2025-03-30T00:59:00Z'), 'Europe/Paris')).toMatchObject({ day: 30, minuteOfDay: hm(1, 59), weekday: 0 });
    expect(localTime(Date.parse('2025-03-30T01:00:00Z'), 'Europe/Paris')).toMatchObject({ day: 30, minuteOfDay: hm(3), weekday: 0 });
    expect(localTime(Date.parse('2025-01-01T18:30:00Z'), 'Asia/Kathmandu')).toMatchObject({ day: 2, minuteOfDay: hm(0, 15), weekday: 4 });
  });

  it('a wall time names no instant in a spring-forward gap, two in a fall-back overlap', () => {
    expect(instantsAt(Date.UTC(2025, 2, 30, 2, 30), 'Europe/Paris')).toEqual([]);
    expect(firstInstantAt(Date.UTC(2025, 2, 30, 2, 30), 'Europe/Paris')).toBe(Date.parse('2025-03-30T01:00:00Z'));
    expect(instantsAt(Date.UTC(2025, 9, 26, 2, 30), 'Europe/Paris')).toEqual([Date.parse('2025-10-26T00:30:00Z'), Date.parse('2025-10-26T01:30:00Z')]);
    expect(firstInstantAt(Date.UTC(2025, 9, 26, 2, 30), 'Europe/Paris', Date.parse('2025-10-26T01:00:00Z'))).toBe(Date.parse('2025-10-26T01:30:00Z'));
    // Lord Howe moves by 30 minutes; Havana changes at midnight.
    expect(instantsAt(Date.UTC(2025, 9, 5, 2, 15), 'Australia/Lord_Howe')).toEqual([]);
    expect(instantsAt(Date.UTC(2025, 2, 9, 0, 30), 'America/Havana')).toEqual([]);
  });

  it('every instant is found again from its own wall time', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) }), (zone, t0) => {
        const t = Math.floor(t0 / 1000) * 1000;
        expect(instantsAt(localTime(t, zone).wall, zone)).toContain(t);
      }),
      { numRuns: 500 },
    );
  });
});

describe('send windows', () => {
  const quiet: SendWindow = { quietHours: { from: hm(21), to: hm(8) } };

  it('a message due in quiet hours waits for their end in the person’s zone; outside, it goes now', () => {
    const paris = 'Europe/Paris';
    const at2230 = Date.parse('2025-06-10T20:30:00Z'); // 22:30 in Paris (UTC+2)
    expect(nextSendTime(quiet, at2230, paris)).toBe(Date.parse('2025-06-11T06:00:00Z'));
    const at0730 = Date.parse('2025-06-11T05:30:00Z');
    expect(nextSendTime(quiet, at0730, paris)).toBe(Date.parse('2025-06-11T06:00:00Z'));
    const at1200 = Date.parse('2025-06-11T10:00:00Z');
    expect(nextSendTime(quiet, at1200, paris)).toBe(at1200);
    // The same instant is daytime in Los Angeles, and 05:30 in Tokyo (08:00 there is 23:00Z).
    expect(nextSendTime(quiet, at2230, 'America/Los_Angeles')).toBe(at2230);
    expect(nextSendTime(quiet, at2230, 'Asia/Tokyo')).toBe(Date.parse('2025-06-10T23:00:00Z'));
  });

  it('opens at 08:00 local on both sides of a DST change', () => {
    // Paris, the night of the spring change (2025-03-29 → 30) and of the autumn one (2025-10-25 → 26).
    expect(nextSendTime(quiet, Date.parse('2025-03-29T22:00:00Z'), 'Europe/Paris')).toBe(Date.parse('2025-03-30T06:00:00Z'));
    expect(nextSendTime(quiet, Date.parse('2025-10-25T22:00:00Z'), 'Europe/Paris')).toBe(Date.parse('2025-10-26T07:00:00Z'));
    // A window opening inside the gap opens when the gap ends.
    const gap: SendWindow = { quietHours: { from: hm(0), to: hm(2, 30) } };
    expect(nextSendTime(gap, Date.parse('2025-03-29T23:30:00Z'), 'Europe/Paris')).toBe(Date.parse('2025-03-30T01:00:00Z'));
  });

  it('send days: a message due on a day without sends waits for the next send day’s window', () => {
    const weekdays: SendWindow = { ...quiet, days: [1, 2, 3, 4, 5] };
    // Saturday 2025-06-14 12:00 in New York → Monday 08:00 (12:00Z).
    expect(nextSendTime(weekdays, Date.parse('2025-06-14T16:00:00Z'), 'America/New_York')).toBe(Date.parse('2025-06-16T12:00:00Z'));
    // Days only: at midnight of the next send day.
    expect(nextSendTime({ days: [1] }, Date.parse('2025-06-14T16:00:00Z'), 'UTC')).toBe(Date.parse('2025-06-16T00:00:00Z'));
  });

  it('property: the time found is open, not before now, and no earlier instant was', () => {
    const minute = fc.integer({ min: 0, max: 1439 });
    const windows = fc
      .record({
        from: minute,
        to: minute,
        days: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }), { nil: undefined }),
        quiet: fc.boolean(),
      })
      .filter((w) => w.from !== w.to)
      .map((w): SendWindow => ({ ...(w.quiet ? { quietHours: { from: w.from, to: w.to } } : {}), ...(w.days ? { days: w.days } : {}) }));
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2045, 0, 1) }), windows, (zone, now, w) => {
        const t = nextSendTime(w, now, zone);
        expect(t).toBeGreaterThanOrEqual(now);
        expect(t - now).toBeLessThanOrEqual(8 * 24 * H);
        // Open at t; and if t is later than now, closed just before (to the second) and at every minute boundary since now.
        expect(isOpen(w, t, zone)).toBe(true);
        if (t > now) {
          expect(isOpen(w, t - 1000, zone)).toBe(false);
          for (let x = Math.ceil(now / M) * M; x < t; x += 15 * M) expect(isOpen(w, x, zone)).toBe(false);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('the person’s zone', () => {
  const p = policy(`kind: policy\nid: default\ntimezone: Europe/Paris\nchannels: { sms: { quietHours: { from: "21:00", to: "08:00" } } }\n`);

  it('the latest event’s context.timezone, then the trigger’s, then the timezone trait, then the policy’s', () => {
    const run = { context: { timezone: 'Asia/Tokyo' } };
    expect(personZone(p, { eventZone: 'America/New_York', runEvent: run, traits: { timezone: 'Asia/Kolkata' } })).toBe('America/New_York');
    expect(personZone(p, { runEvent: run, traits: { timezone: 'Asia/Kolkata' } })).toBe('Asia/Tokyo');
    expect(personZone(p, { eventZone: 'Nowhere/Land', runEvent: {}, traits: { timezone: 'Asia/Kolkata' } })).toBe('Asia/Kolkata');
    expect(personZone(p, { traits: { timezone: 42 } })).toBe('Europe/Paris');
  });
});
