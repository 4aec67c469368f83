/**
 * Metrics middleware: when the invocation ends, successfully or with an error, its counters are
 * flushed once (one EMF line on Lambda, the local sink otherwise; shared/metrics.ts `flush`).
 * Registered before the error mapper, so it runs after it on error and counts what it counted.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { currentInvocation, flush } from '../metrics';

export function metricsFlush<E = unknown, R = unknown>(): MiddlewareObj<E, R, Error, Context> {
  const flushScope = (): void => {
    const scope = currentInvocation();
    if (scope) flush(scope);
  };
  return { after: flushScope, onError: flushScope };
}
