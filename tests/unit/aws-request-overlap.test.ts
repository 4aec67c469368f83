/**
 * The cost bench estimates a function's billed duration from its CPU time and its AWS requests,
 * counting requests that ran together once (bench/cost.ts): every client counts, per thread, the
 * summed time of its requests and the time at least one was in flight (shared/aws/clients.ts
 * OVERLAP). Against a fake DynamoDB that answers after 60 ms: one after another the two are equal;
 * four at once are in flight together for about a quarter of their summed time.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamodb, OVERLAP, requestCounts } from '#shared/aws/clients';

let server: Server;
// The variable the clients read their endpoint from (local/emulators.ts useEndpoints).
const VAR = 'CAIRN_ENDPOINT_DYNAMODB';
const saved = process.env[VAR];

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end('{}');
      }, 60),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.env[VAR] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  if (saved === undefined) delete process.env[VAR];
  else process.env[VAR] = saved;
  await new Promise((r) => server.close(r));
});

const get = () => dynamodb().send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } }));
async function measured(run: () => Promise<unknown>): Promise<{ summed: number; busy: number }> {
  const s0 = requestCounts.get(OVERLAP.requestUs) ?? 0;
  const b0 = requestCounts.get(OVERLAP.busyUs) ?? 0;
  await run();
  return { summed: (requestCounts.get(OVERLAP.requestUs) ?? 0) - s0, busy: (requestCounts.get(OVERLAP.busyUs) ?? 0) - b0 };
}

describe('AWS request overlap, as the cost bench reads it', () => {
  it('requests one after another: in flight all their summed time', async () => {
    const m = await measured(async () => {
      for (let i = 0; i < 3; i++) await get();
    });
    expect(m.summed).toBeGreaterThanOrEqual(3 * 60_000);
    expect(m.busy).toBe(m.summed);
  });

  it('four requests at once: in flight together, a fraction of their summed time', async () => {
    const m = await measured(() => Promise.all([get(), get(), get(), get()]));
    expect(m.summed).toBeGreaterThanOrEqual(4 * 60_000);
    expect(m.busy).toBeGreaterThanOrEqual(60_000);
    expect(m.busy / m.summed).toBeLessThan(0.6);
  });
});
