/**
 * Every λ is built here the same way: its handler (dependencies built in functions/<fn>/ from the
 * environment) in a middy chain with the house middleware set — request logger, metrics flush and,
 * for HTTP functions, errors mapped to the API error body — inside a fresh invocation scope.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { inInvocation } from '../metrics';
import { httpErrors, type HttpErrorOptions } from './http-errors';
import { metricsFlush } from './metrics-flush';
import { requestLogger } from './request-logger';

export interface LambdaOptions {
  /**
   * middy's early timeout (ms before the Lambda timeout the handler is abandoned). 0 by default: the
   * Lambda runtime (and the local one) report the timeout themselves; collect keeps middy's 5.
   */
  timeoutEarlyInMillis?: number;
}

/** The λ handler type: what Lambda (and local/lambda.ts) calls. */
export type LambdaHandler<E, R> = (event: E, context?: Partial<Context>) => Promise<R>;

function inScope<E, R>(service: string, chain: (event: E, context: Context) => Promise<R>): LambdaHandler<E, R> {
  return (event, context) => inInvocation(service, () => chain(event, (context ?? {}) as Context));
}

/** A non-HTTP λ (stream, schedule, bus, S3 event): errors stay function errors (Lambda retries them). */
export function lambdaHandler<E, R>(service: string, handler: (event: E, context: Context) => Promise<R>, opts: LambdaOptions = {}): LambdaHandler<E, R> {
  const chain = middy<E, R, Error, Context>({ timeoutEarlyInMillis: opts.timeoutEarlyInMillis ?? 0 })
    .use(requestLogger<E, R>(service))
    .use(metricsFlush<E, R>())
    .handler(handler);
  return inScope(service, chain as (event: E, context: Context) => Promise<R>);
}

/** An HTTP λ behind API Gateway (payload v2): as `lambdaHandler`, and every error answered with the API error body. */
export function httpHandler(
  service: string,
  handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>,
  errors: HttpErrorOptions,
  opts: LambdaOptions = {},
): LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const chain = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>({ timeoutEarlyInMillis: opts.timeoutEarlyInMillis ?? 0 })
    .use(requestLogger<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(service))
    .use(metricsFlush<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>())
    .use(httpErrors(errors))
    .handler(handler);
  return inScope(service, chain as (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>);
}
