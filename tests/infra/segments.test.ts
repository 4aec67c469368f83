/**
 * Segments infrastructure: the definitions and members tables, λ recheck with a fixed name (a
 * Scheduler target known before it exists), the role recheck schedules assume (it can invoke λ
 * recheck and nothing else), and the run-time grants limited by name prefix: journey rules
 * (`cairn-journey-*` on the Cairn bus) and recheck schedules (`cairn-recheck-*`, PassRole only to
 * EventBridge Scheduler).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { FUNCTIONS, TABLES } from '#shared/config/resources';
import type { CairnStack } from '#infra/stack';
import type { FunctionName } from '#infra/constructs/catalog';
import { BUS_RULES } from '#infra/constructs/access';
import { synthCairn } from './synth';

type Json = Record<string, any>;
let stack: CairnStack;
let resources: Record<string, Json>;
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

beforeAll(() => {
  const s = synthCairn({}, { 'cairn:stage': 'dev' });
  stack = s.stack;
  resources = s.template.toJSON().Resources;
});

const fnId = (name: FunctionName) => stack.getLogicalId(stack.catalog.fn(name).function.node.defaultChild as CfnFunction);
const roleOf = (name: FunctionName) => resources[fnId(name)]!.Properties.Role['Fn::GetAtt'][0] as string;
const statements = (name: FunctionName): Json[] =>
  Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleOf(name)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
const withAction = (name: FunctionName, action: string) => statements(name).filter((s) => asArray(s.Action).includes(action));
const schedulerRoleId = () => stack.getLogicalId(stack.segments.schedulerRole.node.defaultChild as never);

describe('segments infrastructure', () => {
  it('creates the definitions and members tables from their definitions', () => {
    const names = Object.values(resources)
      .filter((r) => r.Type === 'AWS::DynamoDB::Table')
      .map((r) => r.Properties.TableName);
    expect(names).toEqual(expect.arrayContaining([`${TABLES.definitions.name}-dev`, `${TABLES.segmentMembers.name}-dev`]));
  });

  it('λ recheck has the fixed stage name its target ARN uses', () => {
    expect(resources[fnId('recheck')]!.Properties.FunctionName).toBe('cairn-recheck-dev');
    expect(JSON.stringify(stack.resolve(stack.catalog.recheck().targetArn))).toContain(':function:cairn-recheck-dev');
  });

  it('the recheck scheduler role is assumed by EventBridge Scheduler of this account and may only invoke λ recheck', () => {
    const role = resources[schedulerRoleId()]!;
    const trust = role.Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Condition.StringEquals['aws:SourceAccount']).toBeDefined();
    const policy = Object.values(resources).find((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === schedulerRoleId()))!;
    const st = policy.Properties.PolicyDocument.Statement as Json[];
    expect(st).toHaveLength(1);
    expect(st[0]!.Action).toBe('lambda:InvokeFunction');
    expect(JSON.stringify(st[0]!.Resource)).toContain(':function:cairn-recheck-dev');
  });

  it.each(['resolve', 'admin', 'recheck', 'scores'] as FunctionName[])(
    '%s: schedules only cairn-recheck-* and passes only the recheck role, to Scheduler',
    (name) => {
      const declared = (FUNCTIONS[name].access as { recheckSchedules?: readonly string[] }).recheckSchedules ?? [];
      expect(declared).toContain('CreateSchedule');
      const sch = withAction(name, 'scheduler:CreateSchedule');
      expect(sch).toHaveLength(1);
      expect(asArray(sch[0]!.Action).sort()).toEqual(declared.map((a) => `scheduler:${a}`).sort());
      expect(JSON.stringify(sch[0]!.Resource)).toMatch(/:schedule\/default\/cairn-recheck-\*"\]\]\}$/);
      const pass = withAction(name, 'iam:PassRole');
      expect(pass).toHaveLength(1);
      expect(pass[0]!.Resource).toEqual({ 'Fn::GetAtt': [schedulerRoleId(), 'Arn'] });
      expect(pass[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    },
  );

  it('admin manages only cairn-journey-* rules on the Cairn bus; no other function manages rules', () => {
    const st = withAction('admin', 'events:PutRule');
    expect(st).toHaveLength(1);
    expect(asArray(st[0]!.Action).sort()).toEqual([...BUS_RULES].sort());
    const resource = JSON.stringify(st[0]!.Resource);
    expect(resource).toContain(':rule/');
    expect(resource).toContain('/cairn-journey-*');
    expect(resource).toContain(stack.getLogicalId(stack.events.bus.node.defaultChild as never));
    for (const name of (Object.keys(FUNCTIONS) as FunctionName[]).filter((n) => !(FUNCTIONS[n].access as { busRules?: boolean }).busRules)) {
      expect(withAction(name, 'events:PutRule'), name).toEqual([]);
    }
  });
});
