/**
 * Plugs the local EventBridge into the local stack (discovered by local/services.ts): name `events`,
 * so its endpoint is listed in `/_aws/endpoints` and set as CAIRN_ENDPOINT_EVENTS.
 */
import type { LocalService, ServiceContext } from '../services';
import { CairnError } from '#shared/errors';
import { startEventBridge } from './server';
import type { Invoke } from './delivery';
import { sleep } from '#shared/lang';

/**
 * The stack loads its functions after the services start, and deliveries recovered from the journal
 * start at once: wait (up to `graceMs` after start) for the target function to be loaded instead of
 * spending delivery attempts on "function not found".
 */
export function stackInvoke(ctx: ServiceContext, graceMs = 30_000): Invoke {
  const startedAt = Date.now();
  return async (fn, event) => {
    while (Date.now() - startedAt < graceMs) {
      try {
        ctx.functionArn(fn);
        break;
      } catch (e) {
        if (!(e instanceof CairnError && e.code === 'function_not_found')) throw e;
        await sleep(50);
      }
    }
    await ctx.invoke(fn, event);
  };
}

export const service: LocalService = {
  name: 'events',
  async start(ctx) {
    const eb = await startEventBridge({ dataDir: ctx.dataDir, invoke: stackInvoke(ctx), region: process.env.AWS_REGION });
    return {
      endpoint: eb.endpoint,
      status: () => eb.stats(),
      idle: () => {
        const s = eb.stats();
        return s.pending === 0 && s.inFlight === 0;
      },
      async close() {
        await eb.drain(5_000);
        await eb.close();
      },
    };
  },
};

export default service;
