/**
 * Plugs the local EventBridge Scheduler into the local stack (discovered by local/services.ts):
 * name `scheduler`, so its endpoint is listed in `/_aws/endpoints` and set as CAIRN_ENDPOINT_SCHEDULER.
 */
import type { LocalService } from '../services';
import { stackInvoke } from '../eventbridge/service';
import { startScheduler } from './server';

export const service: LocalService = {
  name: 'scheduler',
  async start(ctx) {
    const s = await startScheduler({ dataDir: ctx.dataDir, invoke: stackInvoke(ctx), region: process.env.AWS_REGION });
    return {
      endpoint: s.endpoint,
      status: () => s.stats(),
      idle: () => {
        const st = s.stats();
        return st.pending === 0 && st.inFlight === 0;
      },
      async close() {
        await s.drain(5_000);
        await s.close();
      },
    };
  },
};

export default service;
