/** shared/metrics.ts through the house λ chain (shared/lambda): one EMF line per invocation on Lambda, log lines carry the request and correlation ids. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { count, countBy, emfDocument, setCorrelationId } from '#shared/metrics';
import { lambdaHandler } from '#shared/lambda';
import { log } from '#shared/log';

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
});

describe('EMF', () => {
  it('flushes one EMF line per invocation on Lambda, with namespace Cairn and the function dimension', async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'CairnStack-Normalize-ABC';
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    const h = lambdaHandler('normalize', async (n: number) => {
      count('normalized', n);
      countBy('quarantined', 'invalid_json', 2);
      count('normalized', 1);
      return 'ok';
    });
    expect(await h(3, { awsRequestId: 'r-1' })).toBe('ok');
    const emf = lines.map((l) => JSON.parse(l)).filter((d) => d._aws);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      function: 'CairnStack-Normalize-ABC',
      service: 'normalize',
      normalized: 4,
      quarantined: 2,
      'quarantined.invalid_json': 2,
      _aws: { CloudWatchMetrics: [{ Namespace: 'Cairn', Dimensions: [['function']] }] },
    });
    expect(emf[0]._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name).sort()).toEqual([
      'normalized',
      'quarantined',
      'quarantined.invalid_json',
    ]);
  });

  it('flushes even when the handler throws, and nothing when nothing was counted', async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'fn';
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    await expect(
      lambdaHandler('collect', async () => {
        count('rejected');
        throw new Error('x');
      })(null),
    ).rejects.toThrow('x');
    await lambdaHandler('collect', async () => 1)(null);
    expect(lines.filter((l) => l.includes('"_aws"'))).toHaveLength(1);
  });

  it('count outside an invocation is a no-op', () => {
    expect(() => count('x')).not.toThrow();
    expect(emfDocument('f', 's', new Map([['a', 1]]), 5)).toEqual({
      _aws: { Timestamp: 5, CloudWatchMetrics: [{ Namespace: 'Cairn', Dimensions: [['function']], Metrics: [{ Name: 'a', Unit: 'Count' }] }] },
      function: 'f',
      service: 's',
      a: 1,
    });
  });
});

describe('log context', () => {
  it('every log line of an invocation carries the Lambda request id and, once set, the correlation id', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    await lambdaHandler('journey', async () => {
      log('warn', 'before');
      setCorrelationId('req-42');
      log('warn', 'after', { email: 'a@b.com' });
    })(null, { awsRequestId: 'lambda-req-1' });
    const [a, b] = lines.map((l) => JSON.parse(l));
    expect(a).toMatchObject({ msg: 'before', requestId: 'lambda-req-1', function: 'journey' });
    expect(a.correlationId).toBeUndefined();
    expect(b).toMatchObject({ msg: 'after', requestId: 'lambda-req-1', correlationId: 'req-42', email: '[redacted]' });
  });
});
