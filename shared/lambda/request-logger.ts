/**
 * Request-scoped logger middleware: names the function and the Lambda request id on the invocation
 * scope, so every line shared/log.ts writes during the invocation carries `function` and `requestId`
 * (and, once the domain sets it, `correlationId`). Personal data in log fields is redacted by
 * shared/log.ts itself, on every line, inside an invocation or not.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { currentInvocation } from '../metrics';

export function requestLogger<E = unknown, R = unknown>(service: string): MiddlewareObj<E, R, Error, Context> {
  return {
    before: (request) => {
      const scope = currentInvocation();
      if (!scope) return;
      scope.service = service;
      const requestId = (request.context as Partial<Context> | undefined)?.awsRequestId; // absent when called without a context (tests)
      if (requestId) scope.requestId = requestId;
    },
  };
}
