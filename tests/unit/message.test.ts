import { describe, expect, it } from 'vitest';
import { findForbiddenKey, formatPath, parseIsoTimestamp, toIsoUtc } from '#shared/message/guard';
import { toKinesisEvent } from '#shared/message/kinesis-event';

describe('forbidden keys', () => {
  it('finds __proto__, constructor and prototype at any depth, with the path', () => {
    expect(findForbiddenKey(JSON.parse('{"a":{"b":[1,{"__proto__":{}}]}}'))).toBe('a.b[1].__proto__');
    expect(findForbiddenKey({ constructor: 1 })).toBe('constructor');
    expect(findForbiddenKey([{ x: { prototype: 1 } }], 'batch')).toBe('batch[0].x.prototype');
    expect(findForbiddenKey({ a: { constructors: 1, proto: 2, Prototype: 3 } })).toBeUndefined();
    expect(findForbiddenKey('str')).toBeUndefined();
  });
  it('formats paths', () => {
    expect(formatPath('', ['a', 0, 'b'])).toBe('a[0].b');
    expect(formatPath('batch[2]', ['c'])).toBe('batch[2].c');
  });
});

describe('ISO-8601 timestamps', () => {
  it('parses date-times with Z, offsets, fractions, and without a zone as UTC', () => {
    expect(toIsoUtc('2024-05-01T12:00:00Z')).toBe('2024-05-01T12:00:00.000Z');
    expect(toIsoUtc('2024-05-01T12:00:00.1Z')).toBe('2024-05-01T12:00:00.100Z');
    expect(toIsoUtc('2024-05-01T12:00:00.123456789Z')).toBe('2024-05-01T12:00:00.123Z');
    expect(toIsoUtc('2024-05-01T14:30:00+02:30')).toBe('2024-05-01T12:00:00.000Z');
    expect(toIsoUtc('2024-05-01T07:00:00-0500')).toBe('2024-05-01T12:00:00.000Z');
    expect(toIsoUtc('2024-05-01T12:00:00')).toBe('2024-05-01T12:00:00.000Z');
    expect(toIsoUtc('2024-05-01 12:00')).toBe('2024-05-01T12:00:00.000Z');
    expect(toIsoUtc('2024-05-01')).toBe('2024-05-01T00:00:00.000Z');
  });
  it('rejects what is not an ISO-8601 timestamp', () => {
    for (const v of [
      '',
      'yesterday',
      '2024-13-01T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2024-05-01T25:00:00Z',
      '05/01/2024',
      'Wed, 01 May 2024 12:00:00 GMT',
      1714564800000,
      null,
      {},
      '2024-05-01T12:00:00+25:00',
    ]) {
      expect(Number.isNaN(parseIsoTimestamp(v)), String(v)).toBe(true);
      expect(toIsoUtc(v)).toBeUndefined();
    }
  });
});

describe('Kinesis events', () => {
  it('are built the way Lambda delivers them', () => {
    const e = toKinesisEvent([{ data: '{"a":1}', partitionKey: 'u1', sequenceNumber: '4959' }], 'cairn-raw', 'shardId-000000000001');
    const r = e.Records[0]!;
    expect(r.eventSource).toBe('aws:kinesis');
    expect(r.eventID).toBe('shardId-000000000001:4959');
    expect(r.eventSourceARN).toMatch(/^arn:aws:kinesis:[a-z0-9-]+:\d{12}:stream\/cairn-raw$/);
    expect(Buffer.from(r.kinesis.data, 'base64').toString()).toBe('{"a":1}');
    expect(r.kinesis.partitionKey).toBe('u1');
  });
});
