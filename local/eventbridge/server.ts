/**
 * Local Amazon EventBridge: an HTTP server on 127.0.0.1 speaking EventBridge's JSON 1.1 protocol
 * (`X-Amz-Target: AWSEvents.<Operation>`), so the AWS SDK v3 `EventBridgeClient` (with `endpoint`
 * set) works unchanged. Event buses, rules and targets persist under `<dataDir>/eventbridge/`.
 * PutEvents matches every enabled rule of the bus with EventBridge's pattern semantics
 * (shared/eventbridge/pattern.ts), writes the resulting deliveries to a write-ahead journal before
 * answering, then delivers them asynchronously to Lambda targets through the injected `invoke`,
 * at least once, with retries and a dead-letter file. See docs/eventbridge.md.
 *
 * This file starts the server; the parts: api.ts (operations, validation, the JSON 1.1 protocol),
 * routing.ts (rule matching, target input, the delivery queue), delivery.ts (retries, dead letters),
 * state.ts (buses, rules, targets on disk).
 */
import { createServer } from 'node:http';
import { log } from '#shared/log';
import { BUS } from '#shared/config';
import { operations, protocolHandler } from './api';
import type { DeliveryStats, Invoke } from './delivery';
import { closeServer, listen } from '../aws-http';
import { openRouter } from './routing';
import { openBusStore } from './state';

export interface EventBridgeServerOptions {
  /** Root data directory; state lives in `<dataDir>/eventbridge/`. */
  dataDir: string;
  /** Runs the named Lambda function's handler with the event (rejects on handler failure). */
  invoke: Invoke;
  region?: string;
  /** Port on 127.0.0.1 (0 = any free port). */
  port?: number;
  /** Event buses that always exist (besides those created with CreateEventBus). */
  buses?: string[];
  /** Delivery tuning: attempts per delivery (default 5), backoff base/max, parallel invocations. */
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  concurrency?: number;
}

export interface EventBridgeStats extends DeliveryStats {
  putEventsRequests: number;
  eventsAccepted: number;
  entriesFailed: number;
  matched: number;
}

export interface LocalEventBridge {
  endpoint: string;
  /** Waits until every accepted event has been delivered or dead-lettered (or the timeout); true when idle. */
  drain(timeoutMs?: number): Promise<boolean>;
  /** Stops the server; undelivered events stay journaled and are delivered after the next start. */
  close(): Promise<void>;
  stats(): EventBridgeStats;
}

export async function startEventBridge(opts: EventBridgeServerOptions): Promise<LocalEventBridge> {
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const store = openBusStore(opts.dataDir, region, opts.buses ?? [BUS.name]);
  const { state } = store;
  const router = await openRouter(state, opts);
  const queue = router.queue;
  const counters = { putEventsRequests: 0, eventsAccepted: 0, entriesFailed: 0, matched: 0 };
  const handle = protocolHandler(operations(store, router, counters));
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5_000;
  const port = await listen(server, opts.port ?? 0);
  const endpoint = `http://127.0.0.1:${port}`;
  log('info', 'eventbridge.started', { endpoint, buses: Object.keys(state.buses) });

  let closed = false;
  return {
    endpoint,
    drain: (timeoutMs) => queue.drain(timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      await closeServer(server);
      await queue.close();
    },
    stats: () => ({ ...counters, ...queue.stats() }),
  };
}
