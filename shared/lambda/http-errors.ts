/**
 * Errors → the API error body (docs/errors.md), for the HTTP functions (collect, admin): a CairnError
 * answers with its status and `{"success":false,"error":{"code","message",…}}`; anything else is
 * a 500 `internal_error` whose message says nothing about the cause. One mapping, used by the
 * middleware on Lambda and by the domain's own non-throwing entry points (tests, the fuzzers).
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { CairnError, errorBody, isCairnError } from '../errors';

export interface HttpErrorOptions {
  /** Message of the 500 `internal_error` answer to an unexpected error. */
  internalMessage: string;
  /** Adds `retry-after: 1` to 503 answers (collect: SDK clients retry on it). */
  retryAfterOn503?: boolean;
  /** Called for every error mapped (the domain logs and counts it its own way). */
  report?: (error: unknown, event: APIGatewayProxyEventV2) => void;
}

export function errorResponse(error: unknown, event: APIGatewayProxyEventV2, opts: HttpErrorOptions): APIGatewayProxyStructuredResultV2 {
  opts.report?.(error, event);
  const e = isCairnError(error) ? error : new CairnError('internal_error', opts.internalMessage, 500);
  return {
    statusCode: e.status,
    headers: { 'content-type': 'application/json', ...(opts.retryAfterOn503 && e.status === 503 ? { 'retry-after': '1' } : {}) },
    body: JSON.stringify(errorBody(e)),
  };
}

/** Middleware: a thrown error becomes the error answer (the invocation itself succeeds, as API Gateway needs). */
export function httpErrors(opts: HttpErrorOptions): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  return {
    onError: (request) => {
      request.response = errorResponse(request.error, request.event, opts);
    },
  };
}
