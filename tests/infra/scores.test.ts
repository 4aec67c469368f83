/**
 * λ scores on AWS: its daily EventBridge Scheduler schedule (SCHEDULES.dailyScores) through a role
 * that may invoke only λ scores, and least privilege for the function: read-write on the profiles
 * table, write on the members index, read on timeline and definitions, nothing else in DynamoDB; PutEvents
 * on the Cairn bus; recheck schedules; no stream, no lake, no other bucket.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { ENV, SCHEDULES, TABLES } from '#shared/config/resources';
import { synthCairn } from './synth';

type Json = Record<string, any>;
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

describe('λ scores (AWS)', () => {
  let resources: Record<string, Json>;
  let fnId: string;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const statementsOf = (roleId: string): Json[] =>
    ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  const tableId = (name: string) => ofType('AWS::DynamoDB::Table').find(([, r]) => r.Properties.TableName === name)![0];

  beforeAll(() => {
    const { stack, template } = synthCairn();
    resources = template.toJSON().Resources as Record<string, Json>;
    fnId = stack.getLogicalId(stack.catalog.fn('scores').function.node.defaultChild as CfnFunction);
  });

  it('runs every day from its own schedule, whose role may invoke λ scores and nothing else', () => {
    const [, sch] = ofType('AWS::Scheduler::Schedule').find(([, r]) => r.Properties.Name === SCHEDULES.dailyScores.name)!;
    expect(sch.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 day)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Input: '{}' },
    });
    const roleId = sch.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
    expect(resources[roleId]!.Properties.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
      Principal: { Service: 'scheduler.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(statementsOf(roleId)).toEqual([{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } }]);
  });

  it('env names only what it uses; 15 minutes', () => {
    const p = resources[fnId]!.Properties;
    const vars = Object.keys(p.Environment.Variables as Json)
      .filter((k) => k.startsWith('CAIRN_'))
      .sort();
    expect(vars).toEqual(
      [
        ENV.profilesTable,
        ENV.timelineTable,
        ENV.definitionsTable,
        ENV.segmentMembersTable,
        ENV.eventBus,
        ENV.recheckTargetArn,
        ENV.recheckRoleArn,
        'CAIRN_AWS_REQUEST_TIMEOUT_MS',
      ].sort(),
    );
    expect(p.Timeout).toBe(900);
  });

  it('least privilege: writes profiles and the members index only; reads timeline and definitions; no stream, no lake', () => {
    const roleId = resources[fnId]!.Properties.Role['Fn::GetAtt'][0] as string;
    const st = statementsOf(roleId);
    const ddb = st.filter((x) => asArray(x.Action as string | string[]).some((a) => a.startsWith('dynamodb:')));
    const tablesOf = (pred: (a: string) => boolean) =>
      ddb
        .filter((x) => asArray(x.Action as string | string[]).some(pred))
        .flatMap((x) => asArray(x.Resource))
        .map((r: Json) => r['Fn::GetAtt']?.[0])
        .filter(Boolean)
        .sort();
    const writes = tablesOf((a) => /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/.test(a));
    expect(writes).toEqual([tableId(TABLES.profiles.name), tableId(TABLES.segmentMembers.name)].sort());
    const reads = [...new Set(tablesOf((a) => /^dynamodb:(GetItem|Query|Scan|BatchGetItem)$/.test(a)))];
    // The members index is only written (membership changes), never read (least privilege per operation).
    expect(reads.sort()).toEqual([tableId(TABLES.profiles.name), tableId(TABLES.timeline.name), tableId(TABLES.definitions.name)].sort());
    const actions = st.flatMap((x) => asArray(x.Action as string | string[]));
    expect(actions.filter((a) => /^(kinesis|s3|athena|glue|lambda):/.test(a))).toEqual([]);
    expect(actions).toContain('events:PutEvents');
    expect(actions.filter((a) => a.startsWith('scheduler:')).sort()).toEqual([
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:UpdateSchedule',
    ]);
  });
});
