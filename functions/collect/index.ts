/** λ collect: API Gateway HTTP API (payload v2) → raw Kinesis stream. Logic in shared/collect. */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { collect } from '../../shared/collect/handler';
import { instrument } from '../../shared/metrics';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(
  instrument('collect', (event: APIGatewayProxyEventV2, _context: Context) => collect(event)),
);
