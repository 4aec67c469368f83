/**
 * collect.events_per_s: the real collect handler, in-process, against the emulators (kinesalite for
 * PutRecords, dynalite for the write-key lookup), SDK-sized batches of 100, 4 requests in flight.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createResources, startEmulators, useEndpoints } from '#local/emulators';
import { ENV, STREAMS, TABLES } from '#shared/config';
import { ensureSource } from '#shared/collect/sources';
import { requestCounts, resetRequestCounts } from '#shared/aws/clients';
import { syntheticMessages } from './events';
import type { Result } from './result';

const auth = 'Basic ' + Buffer.from('bench-key:').toString('base64');

function request(batch: unknown[]): APIGatewayProxyEventV2 {
  const path = '/v1/batch';
  return {
    version: '2.0',
    routeKey: 'POST /v1/batch',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', authorization: auth },
    body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      requestId: 'r',
      routeKey: 'POST /v1/batch',
      stage: '$default',
      time: '',
      timeEpoch: Date.now(),
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
    },
  };
}

export async function benchCollect(n: number): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-collect-'));
  const emu = await startEmulators(dir);
  try {
    useEndpoints(emu.endpoints);
    process.env[ENV.rawStream] = STREAMS.raw.name;
    process.env[ENV.sourcesTable] = TABLES.sources.name;
    await createResources();
    await ensureSource(TABLES.sources.name, 'bench-key', 'bench', 'bench', 'server');
    const { handler } = await import('#functions/collect/index');
    const messages = syntheticMessages(n);
    const batches: unknown[][] = [];
    for (let i = 0; i < messages.length; i += 100) batches.push(messages.slice(i, i + 100));
    const invoke = async (b: unknown[]) => {
      const res = (await handler(request(b), {} as never)) as { statusCode: number; body?: string };
      if (res.statusCode !== 200) throw new Error(`collect bench: answered ${res.statusCode} ${res.body}`);
    };
    await invoke(batches[0]!); // warm-up
    resetRequestCounts();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < batches.length) await invoke(batches[next++]!);
      }),
    );
    const s = (performance.now() - t0) / 1000;
    const putRecords = requestCounts.get('kinesis.PutRecords') ?? 0;
    return [
      { name: 'collect.events_per_s', value: Math.round(n / s), unit: 'events/s' },
      { name: 'collect.kinesis_putrecords_per_event', value: +(putRecords / n).toFixed(4), unit: 'requests/event' },
    ];
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
