/** λ collect: API Gateway HTTP API (payload v2) → raw Kinesis stream. Logic in shared/collect. */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { collect } from '../../shared/collect/handler';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler((event) => collect(event));
