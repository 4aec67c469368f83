/**
 * `cairn:streamRetentionHours` at run time (docs/deploy.md#sizing): the CDK sets CAIRN_STREAM_RETENTION_HOURS on
 * λ normalize (its dedup window) and λ admin (the erasure reach); the local stack and a missing or
 * out-of-range value keep the declared 72 h, so a bad value never shortens the dedup window below the retention.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dedupWindowSeconds, DEDUP_WINDOW_SECONDS, ENV, localEnvDefaults, STREAMS } from '#shared/config';
import { retentionOf } from '#shared/privacy/reach';
import { streamRetentionHoursFromEnv } from '#functions/env';

describe('stream retention from the environment', () => {
  const saved = process.env[ENV.streamRetentionHours];
  afterEach(() => {
    if (saved === undefined) delete process.env[ENV.streamRetentionHours];
    else process.env[ENV.streamRetentionHours] = saved;
  });

  it('the deployed value drives the dedup window and the erasure reach', () => {
    process.env[ENV.streamRetentionHours] = '24';
    expect(streamRetentionHoursFromEnv()).toBe(24);
    expect(dedupWindowSeconds(streamRetentionHoursFromEnv())).toBe(86_400);
    expect(retentionOf(30, streamRetentionHoursFromEnv()).streamHours).toBe(24);
  });

  it.each([undefined, '', '23', '169', '72.5', 'x'])('%s: the declared 72 h', (v) => {
    if (v === undefined) delete process.env[ENV.streamRetentionHours];
    else process.env[ENV.streamRetentionHours] = v;
    expect(streamRetentionHoursFromEnv()).toBe(STREAMS.raw.retentionHours);
    expect(dedupWindowSeconds(streamRetentionHoursFromEnv())).toBe(DEDUP_WINDOW_SECONDS);
  });

  it('the local stack sets the declared retention', () => {
    expect(localEnvDefaults('us-east-1').streamRetentionHours).toBe(String(STREAMS.raw.retentionHours));
    expect(retentionOf().streamHours).toBe(72);
  });
});
