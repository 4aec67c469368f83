/**
 * Business metrics in CloudWatch Embedded Metric Format (EMF), written by hand (no extra package).
 *
 * A handler built with `lambdaHandler` (shared/lambda) runs in an invocation scope: `count(name)`
 * adds to that invocation's counters (a no-op outside a scope), and when the invocation ends its
 * metrics middleware flushes the counters as ONE JSON line on stdout, which CloudWatch Logs turns into metrics in the
 * namespace `Cairn` with the dimension `function` (the Lambda function name). The same scope carries
 * the Lambda request id and the message's correlation id, which shared/log.ts adds to every line.
 *
 * Locally (not on Lambda) the flushed counters also go to a process-wide BroadcastChannel, which
 * reaches the main thread from the function worker threads: local/metrics.ts aggregates them for
 * `GET /v1/status` and `npx cairn status`. The counting code is the same in both homes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { BroadcastChannel } from 'node:worker_threads';

export const METRICS_NAMESPACE = 'Cairn';
/** BroadcastChannel name of the local metrics sink. */
export const METRICS_CHANNEL = 'cairn-metrics';
/** Dimension name of every metric. */
export const METRICS_DIMENSION = 'function';

/** Metric names the handlers emit (docs/operations.md); `<base>.<code>` adds a per-reason breakdown. */
export const METRIC = {
  collectAccepted: 'accepted',
  collectRejected: 'rejected',
  normalized: 'normalized',
  quarantined: 'quarantined',
  duplicates: 'duplicates',
  /** λ resolve: records read from the normalized stream (messages, and lake index records: shared/message/lake-rows.ts). */
  resolveMessages: 'messages',
  profilesCreated: 'profiles.created',
  profilesUpdated: 'profiles.updated',
  profilesMerged: 'profiles.merged',
  resolveQuarantined: 'quarantined',
  /** λ resolve: what browser sources asserted that was not applied, `.consent`, `.trait`, `.identifier`, `.merge` (docs/security.md#source-trust). */
  refused: 'refused',
  actionsSent: 'actions.sent',
  actionsFailed: 'actions.failed',
  actionsSkipped: 'actions.skipped',
  /** λ journey: a coupon issued from a pool at or under its low mark (and `.<pool>`); a code redeemed again. */
  couponsLow: 'coupons.low',
  couponsRedeemedAgain: 'coupons.redeemed_again',
  /** λ journey: transitions whose journey_steps rows could not be put on the raw stream (the run went on, docs/journeys.md#the-lake). */
  journeyStepsWriteFailures: 'journey_steps.failures',
  /** λ erase: lake objects its pass could not finish (and `.<code>`), erasures left pending because of them. */
  erasureLakeFailures: 'lake.failures',
  erasuresIncomplete: 'erasures.incomplete',
  /** λ admin: audit rows that could not be written (the request was answered anyway, docs/security.md#audit-log). */
  auditWriteFailures: 'audit.failures',
} as const;

export interface InvocationScope {
  /** Logical function (FUNCTIONS key): `collect`, `normalize`, … (set by the request logger middleware). */
  service: string;
  /** Lambda request id of the invocation. */
  requestId?: string;
  /** Id of the request that brought the message in (x-request-id / API Gateway request id). */
  correlationId?: string;
  counters: Map<string, number>;
  /**
   * A dry run inside the invocation (a journey simulation): its counters are never flushed and its
   * log lines below `error` are dropped, so what it pretends to do neither moves metrics nor fills logs.
   */
  dryRun?: boolean;
}

// Pure: a bundle that counts nothing (the console, importing the grammar) leaves it out.
const storage = /* @__PURE__ */ new AsyncLocalStorage<InvocationScope>();

/** The current invocation, when running inside `inInvocation`. */
export function currentInvocation(): InvocationScope | undefined {
  return storage.getStore();
}

/** Adds `n` to counter `name` of the current invocation (ignored outside one, and for n <= 0). */
export function count(name: string, n = 1): void {
  const s = storage.getStore();
  if (!s || !(n > 0)) return;
  s.counters.set(name, (s.counters.get(name) ?? 0) + n);
}

/** Counts a total and its breakdown: `quarantined` and `quarantined.<reason>`. */
export function countBy(name: string, reason: string, n = 1): void {
  count(name, n);
  count(`${name}.${reason.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'unknown'}`, n);
}

/** Sets the correlation id of the current invocation (collect: the request id; journey: from the event). */
export function setCorrelationId(id: string | undefined): void {
  const s = storage.getStore();
  if (s && id) s.correlationId = id;
}

/** The EMF document of one invocation's counters (exported for tests and the docs). */
export function emfDocument(functionName: string, service: string, counters: ReadonlyMap<string, number>, timestamp = Date.now()): Record<string, unknown> {
  const names = [...counters.keys()].slice(0, 100); // EMF: at most 100 metrics per directive
  const doc: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[METRICS_DIMENSION]], Metrics: names.map((Name) => ({ Name, Unit: 'Count' })) }],
    },
    [METRICS_DIMENSION]: functionName,
    service,
  };
  for (const n of names) doc[n] = counters.get(n);
  return doc;
}

/** What the local sink receives per flushed invocation. */
export interface MetricsMessage {
  service: string;
  counters: Record<string, number>;
}

let channel: BroadcastChannel | undefined;
const onLambda = (): boolean => !!process.env.AWS_LAMBDA_FUNCTION_NAME;

/** Writes the invocation's counters: one EMF line (Lambda, or CAIRN_METRICS_STDOUT=1) and the local sink. */
export function flush(scope: InvocationScope): void {
  if (scope.counters.size === 0) return;
  const lambda = onLambda();
  if (lambda || process.env.CAIRN_METRICS_STDOUT === '1') {
    const fn = process.env.AWS_LAMBDA_FUNCTION_NAME || `cairn-${scope.service}`;
    process.stdout.write(JSON.stringify(emfDocument(fn, scope.service, scope.counters)) + '\n');
  }
  if (!lambda) {
    if (!channel) {
      channel = new BroadcastChannel(METRICS_CHANNEL);
      (channel as unknown as { unref?: () => void }).unref?.();
    }
    const msg: MetricsMessage = { service: scope.service, counters: Object.fromEntries(scope.counters) };
    channel.postMessage(msg);
  }
  scope.counters.clear();
}

/**
 * Runs `fn` in a fresh, empty invocation scope. An AsyncLocalStorage scope has to wrap the call, which
 * a middleware cannot do: this is the one thing around the middy chain; the middlewares fill the
 * scope (request logger) and flush it (metrics), see shared/lambda.
 */
export function inInvocation<R>(service: string, fn: () => Promise<R>): Promise<R> {
  return storage.run({ service, counters: new Map() }, fn);
}

/**
 * Runs `fn` as a dry run (shared/journeys/simulate): in a scope of its own whose counters are thrown
 * away — a simulated send must not count as `actions.sent`, nor an empty simulated pool raise the
 * coupons alarm — and whose lines below `error` are not logged. The caller's scope is untouched.
 */
export function dryRun<R>(fn: () => Promise<R>): Promise<R> {
  const outer = storage.getStore();
  return storage.run({ service: outer?.service ?? 'dry-run', counters: new Map(), dryRun: true }, fn);
}
