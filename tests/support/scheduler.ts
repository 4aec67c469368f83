/**
 * The local scheduler as a stack service whose clock the test controls (EventBridge Scheduler's
 * one-time schedules fire when the test moves time, not when the wall clock gets there).
 */
import { stackInvoke } from '#local/eventbridge/service';
import { startScheduler, type LocalScheduler, type SchedulerServerOptions } from '#local/scheduler/server';
import type { LocalService, ServiceContext } from '#local/services';

export interface ClockedScheduler {
  service: LocalService;
  /** The running scheduler (after the stack started). */
  readonly scheduler: LocalScheduler;
}

export function clockedScheduler(
  now: () => number,
  opts: Pick<SchedulerServerOptions, 'tickMs' | 'retry'> & { drainOnClose?: boolean; onStart?: (ctx: ServiceContext) => void } = {},
): ClockedScheduler {
  let current: LocalScheduler | undefined;
  return {
    get scheduler() {
      if (!current) throw new Error('the scheduler has not started');
      return current;
    },
    service: {
      name: 'scheduler',
      async start(ctx) {
        opts.onStart?.(ctx);
        const s = await startScheduler({
          dataDir: ctx.dataDir,
          invoke: stackInvoke(ctx),
          now,
          tickMs: opts.tickMs ?? 0,
          ...(opts.retry ? { retry: opts.retry } : {}),
        });
        current = s;
        return {
          endpoint: s.endpoint,
          idle: () => s.stats().pending === 0 && s.stats().inFlight === 0,
          async close() {
            if (opts.drainOnClose) await s.drain(5_000);
            await s.close();
          },
        };
      },
    },
  };
}
