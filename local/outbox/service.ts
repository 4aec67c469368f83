/**
 * Plugs the local outbox (server.ts) into the local stack (discovered by local/services.ts) as two
 * services sharing one server and journal: `ses` and `sns`, so `/_aws/endpoints` lists both and
 * CAIRN_ENDPOINT_SES / CAIRN_ENDPOINT_SNS point λ journey's SDK clients at it. The `ses` service
 * adds the runtime route `GET /v1/outbox?limit=` (admin token; newest first; limit 1–1000, default 50).
 */
import { CairnError } from '#shared/errors';
import type { LocalService, ServiceContext } from '../services';
import { startOutbox, type LocalOutbox } from './server';

const running = new Map<string, { outbox: Promise<LocalOutbox>; refs: number }>();

function acquire(ctx: ServiceContext): Promise<LocalOutbox> {
  let r = running.get(ctx.dataDir);
  if (!r) running.set(ctx.dataDir, (r = { outbox: startOutbox({ dataDir: ctx.dataDir }), refs: 0 }));
  r.refs++;
  return r.outbox;
}

async function release(dataDir: string): Promise<void> {
  const r = running.get(dataDir);
  if (!r || --r.refs > 0) return;
  running.delete(dataDir);
  await (await r.outbox).close();
}

/** `GET /v1/outbox?limit=`: `{ messages: [...] }`, newest first. */
export function outboxRoute(outbox: LocalOutbox) {
  return (query: URLSearchParams) => {
    const raw = query.get('limit');
    const limit = raw === null ? 50 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CairnError('invalid_parameter', 'limit must be an integer from 1 to 1000', 400);
    return { status: 200, body: { messages: outbox.list(limit) } };
  };
}

const outboxService = (name: 'ses' | 'sns'): LocalService => ({
  name,
  async start(ctx) {
    const outbox = await acquire(ctx);
    return {
      endpoint: outbox.endpoint,
      ...(name === 'ses' ? { routes: { 'GET /v1/outbox': outboxRoute(outbox) }, status: () => ({ messages: outbox.list(1_000_000).length }) } : {}),
      close: () => release(ctx.dataDir),
    };
  },
});

export const services: LocalService[] = [outboxService('ses'), outboxService('sns')];
export default services[0];
