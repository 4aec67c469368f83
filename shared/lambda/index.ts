/** The house way to build a λ handler: a middy chain with the house middleware set (docs/operations.md). */
export { httpHandler, lambdaHandler, type LambdaHandler, type LambdaOptions } from './handler';
export { errorResponse, httpErrors, type HttpErrorOptions } from './http-errors';
export { metricsFlush } from './metrics-flush';
export { requestLogger } from './request-logger';
