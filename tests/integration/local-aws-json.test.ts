/**
 * The JSON 1.1 protocol of the local Athena, Secrets Manager and EventBridge (local/aws-json.ts) on the wire, where
 * the SDK's own checks do not reach: the health answer, a request without the service's target, an
 * operation the server lacks, and a body that is not JSON or not an object —
 * each `{ __type, Message }` (EventBridge: `message`) with `x-amzn-errortype`, as the SDK reads an error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAthena, startAthena } from '#local/athena/server';
import { type LocalSecretsManager, startSecretsManager } from '#local/secretsmanager/server';
import { type LocalEventBridge, startEventBridge } from '#local/eventbridge/server';

let dir: string;
let athena: LocalAthena;
let sm: LocalSecretsManager;
let eb: LocalEventBridge;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-aws-json-'));
  athena = await startAthena({ dataDir: dir, workgroups: ['primary'], concurrency: 1 });
  sm = await startSecretsManager({ dataDir: dir, region: 'eu-west-1' });
  eb = await startEventBridge({ dataDir: dir, invoke: async () => undefined });
});
afterAll(async () => {
  await athena?.close();
  await sm?.close();
  await eb?.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = async (endpoint: string, init: { method?: string; path?: string; target?: string; body?: string }) => {
  const res = await fetch(`${endpoint}${init.path ?? '/'}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', ...(init.target ? { 'x-amz-target': init.target } : {}) },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  return {
    status: res.status,
    type: res.headers.get('x-amzn-errortype'),
    contentType: res.headers.get('content-type'),
    json: (await res.json()) as Record<string, unknown>,
  };
};

describe.each([
  {
    service: 'Athena',
    target: 'AmazonAthena',
    known: 'GetQueryExecution',
    refused: 'InvalidRequestException',
    key: 'Message',
    endpoint: () => athena.endpoint,
  },
  {
    service: 'Secrets Manager',
    target: 'secretsmanager',
    known: 'DescribeSecret',
    refused: 'InvalidParameterException',
    key: 'Message',
    endpoint: () => sm.endpoint,
  },
  { service: 'EventBridge', target: 'AWSEvents', known: 'DescribeRule', refused: 'ValidationException', key: 'message', endpoint: () => eb.endpoint },
])('the local $service speaks JSON 1.1', ({ service, target, known, refused, key, endpoint }) => {
  it('answers its health check', async () => {
    for (const path of ['/', '/health']) expect(await call(endpoint(), { method: 'GET', path })).toMatchObject({ status: 200, json: { status: 'ok' } });
  });

  it('refuses a request without its target, and an operation it lacks', async () => {
    expect(await call(endpoint(), { body: '{}' })).toEqual({
      status: 400,
      type: 'UnknownOperationException',
      contentType: 'application/x-amz-json-1.1',
      json: { __type: 'UnknownOperationException', [key]: `Expected POST with X-Amz-Target: ${target}.<Operation>, got POST (none)` },
    });
    expect(await call(endpoint(), { target: 'Other.DescribeSecret', body: '{}' })).toMatchObject({ status: 400, type: 'UnknownOperationException' });
    expect(await call(endpoint(), { target: `${target}.DeleteEverything`, body: '{}' })).toEqual({
      status: 400,
      type: 'UnknownOperationException',
      contentType: 'application/x-amz-json-1.1',
      json: { __type: 'UnknownOperationException', [key]: `The local ${service} does not support DeleteEverything` },
    });
  });

  it('refuses a body that is not a JSON object', async () => {
    for (const [body, message] of [
      ['{not json', 'Request body is not valid JSON'],
      ['[1]', 'Request body must be a JSON object'],
      ['"text"', 'Request body must be a JSON object'],
    ] as const)
      expect(await call(endpoint(), { target: `${target}.${known}`, body }), body).toEqual({
        status: 400,
        type: 'SerializationException',
        contentType: 'application/x-amz-json-1.1',
        json: { __type: 'SerializationException', [key]: message },
      });
  });

  it('answers a known operation in x-amz-json-1.1 (an empty body reads as {})', async () => {
    const r = await call(endpoint(), { target: `${target}.${known}` });
    expect(r.contentType).toBe('application/x-amz-json-1.1');
    expect(r.status).toBe(400);
    expect(r.json.__type).toBe(refused);
  });
});
