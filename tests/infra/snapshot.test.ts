/**
 * The daily profile snapshot on AWS: an EventBridge Scheduler schedule per SCHEDULES definition
 * (`rate(15 minutes)` → λ snapshot, which continues the day's run from its cursor or does nothing), a scheduler role that can invoke only that function, and λ snapshot
 * itself reaching only the profiles table (read) and the lake's `profiles/` prefix.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { ENV, SCHEDULES, TABLES } from '#shared/config/resources';
import { synthCairn } from './synth';

type Json = Record<string, any>;
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function setup(props: Parameters<typeof synthCairn>[1] = {}) {
  const { stack, template } = synthCairn({}, props);
  const resources = template.toJSON().Resources as Record<string, Json>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const fnId = stack.getLogicalId(stack.catalog.fn('snapshot').function.node.defaultChild as CfnFunction);
  return { stack, resources, ofType, fnId };
}

describe('daily profile snapshot (AWS)', () => {
  let s: ReturnType<typeof setup>;
  beforeAll(() => {
    s = setup();
  });
  const policyStatements = (roleId: string): Json[] =>
    s
      .ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);

  it('one enabled schedule per SCHEDULES entry; the daily snapshot runs λ snapshot every 15 minutes with {} (a run continues from its cursor)', () => {
    const schedules = s.ofType('AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(Object.keys(SCHEDULES).length);
    const def = SCHEDULES.dailyProfileSnapshot;
    const [, sch] = schedules.find(([, r]) => r.Properties.Name === def.name)!;
    expect(sch.Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: { 'Fn::GetAtt': [s.fnId, 'Arn'] }, Input: '{}' },
    });
  });

  it("the schedule role is assumable by this account's scheduler only and may invoke only λ snapshot", () => {
    const [, sch] = s.ofType('AWS::Scheduler::Schedule').find(([, r]) => r.Properties.Name === SCHEDULES.dailyProfileSnapshot.name)!;
    const roleId = sch.Properties.Target.RoleArn['Fn::GetAtt'][0] as string;
    const role = s.resources[roleId]!;
    expect(role.Type).toBe('AWS::IAM::Role');
    const trust = role.Properties.AssumeRolePolicyDocument.Statement as Json[];
    expect(trust).toHaveLength(1);
    expect(trust[0]).toMatchObject({
      Action: 'sts:AssumeRole',
      Effect: 'Allow',
      Principal: { Service: 'scheduler.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(policyStatements(roleId)).toEqual([{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [s.fnId, 'Arn'] } }]);
  });

  it('λ snapshot: env names the profiles table, the lake and the privacy table (its cursor) only; runs up to 15 minutes', () => {
    const p = s.resources[s.fnId]!.Properties;
    const vars = Object.keys(p.Environment.Variables as Json)
      .filter((k) => k.startsWith('CAIRN_'))
      .sort();
    // And the AWS request time limit every function gets (a third of its timeout).
    expect(vars).toEqual([ENV.lakeBucket, ENV.profilesTable, ENV.privacyTable, 'CAIRN_AWS_REQUEST_TIMEOUT_MS'].sort());
    expect(p.Timeout).toBe(900);
  });

  it('λ snapshot: scans the profiles table, gets/puts its cursor item in the privacy table, writes only under profiles/, no bus, no streams', () => {
    const roleId = s.resources[s.fnId]!.Properties.Role['Fn::GetAtt'][0] as string;
    const st = policyStatements(roleId);
    const actions = st.flatMap((x) => asArray(x.Action as string | string[]));
    const profilesId = s.ofType('AWS::DynamoDB::Table').find(([, r]) => r.Properties.TableName === TABLES.profiles.name)![0];
    const privacyId = s.ofType('AWS::DynamoDB::Table').find(([, r]) => r.Properties.TableName === TABLES.privacy.name)![0];
    const ddb = st.filter((x) => asArray(x.Action as string | string[]).some((a) => a.startsWith('dynamodb:')));
    const on = (id: string) =>
      ddb
        .filter((x) => JSON.stringify(x.Resource).includes(id))
        .flatMap((x) => asArray(x.Action as string | string[]))
        .sort();
    expect(on(profilesId)).toEqual(['dynamodb:Scan']);
    expect(on(privacyId)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(ddb.every((x) => [profilesId, privacyId].some((id) => JSON.stringify(x.Resource).includes(id)))).toBe(true);
    expect(actions.filter((a) => /^(kinesis|events|lambda|scheduler|iam):/.test(a))).toEqual([]);
    const lakeId = s.stack.getLogicalId(s.stack.lake.bucket.node.defaultChild as never);
    const objectStatements = st.filter((x) => asArray(x.Action as string | string[]).includes('s3:PutObject'));
    expect(objectStatements).toHaveLength(1);
    expect(asArray(objectStatements[0]!.Resource)).toEqual([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [lakeId, 'Arn'] }, '/profiles/*']] }]);
    // Lists a day's earlier parts (to blank those a rerun no longer writes) and writes; never reads an object.
    expect(actions.filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:ListBucket', 's3:PutObject']);
  });

  it('a staged stack names its schedule with the stage suffix', () => {
    const staged = setup({ 'cairn:stage': 'dev' });
    const names = staged.ofType('AWS::Scheduler::Schedule').map(([, r]) => r.Properties.Name);
    expect(names).toContain(`${SCHEDULES.dailyProfileSnapshot.name}-dev`);
    expect(names.sort()).toEqual((Object.values(SCHEDULES) as { name: string }[]).map((d) => `${d.name}-dev`).sort());
  });
});
