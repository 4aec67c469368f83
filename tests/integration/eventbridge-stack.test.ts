/**
 * The local stack discovers the bus and the scheduler (local/eventbridge/service.ts,
 * local/scheduler/service.ts): their endpoints are published, and rules/schedules invoke the
 * stack's own functions through the SDK, as on AWS.
 */
import { describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { useLocalStack } from '../support/stack';
import type { LocalFunctionDef } from '#local/lambda';

const received: unknown[] = [];
const sink: LocalFunctionDef = {
  id: 'Sink',
  entry: '(inline)',
  memoryMb: 128,
  timeoutSeconds: 3,
  handler: async (event: unknown) => {
    received.push(event);
  },
};
const creds = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('bus and scheduler inside the local stack', () => {
  const stack = useLocalStack({ name: 'eb-stack', functions: [], extraFunctions: { sink }, routes: [] });

  it('publishes both endpoints and delivers rule and schedule targets to the stack’s functions', async () => {
    expect(stack.stack.endpoints.events).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.stack.endpoints.scheduler).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env.CAIRN_ENDPOINT_EVENTS).toBe(stack.stack.endpoints.events);
    const eb = new EventBridgeClient({ endpoint: stack.stack.endpoints.events!, region: 'us-east-1', credentials: creds });
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:sink';
    await eb.send(
      new PutRuleCommand({ Name: 'to-sink', EventBusName: 'cairn', EventPattern: JSON.stringify({ source: ['cairn'], 'detail-type': ['profile.merged'] }) }),
    );
    await eb.send(new PutTargetsCommand({ Rule: 'to-sink', EventBusName: 'cairn', Targets: [{ Id: 'sink', Arn: arn, InputPath: '$.detail' }] }));
    await eb.send(new PutEventsCommand({ Entries: [{ EventBusName: 'cairn', Source: 'cairn', DetailType: 'profile.merged', Detail: '{"survivor":"p1"}' }] }));

    const sch = new SchedulerClient({ endpoint: stack.stack.endpoints.scheduler!, region: 'us-east-1', credentials: creds });
    await sch.send(
      new CreateScheduleCommand({
        Name: 'past-due',
        ScheduleExpression: 'at(2020-01-01T00:00:00)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: arn, RoleArn: 'arn:aws:iam::000000000000:role/r', Input: '{"wake":"up"}' },
      }),
    );
    const deadline = Date.now() + 5_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received).toEqual(expect.arrayContaining([{ survivor: 'p1' }, { wake: 'up' }]));
    expect(received).toHaveLength(2);
  });
});
