/**
 * The Journeys construct: λ journey's fixed name, who may invoke it (journey rules of the Cairn bus,
 * its wait scheduler role), what it may do beyond its FunctionDef access (its schedule group, pass
 * that role, SES from the sender identity, SNS Publish for SMS), and where failed async invocations go.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { ENV } from '#shared/config/resources';
import { synthCairn, type Synthesised } from './synth';

type Json = Record<string, any>;
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function setup(s: Synthesised) {
  const resources = s.template.toJSON().Resources as Record<string, Json>;
  const id = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as never);
  const fnId = s.stack.getLogicalId(s.stack.journeys.journey.function.node.defaultChild as CfnFunction);
  const roleId = resources[fnId]!.Properties.Role['Fn::GetAtt'][0] as string;
  const statements = (role: string) =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
  const withAction = (role: string, action: string) => statements(role).filter((st) => asArray(st.Action).includes(action));
  return { resources, id, fnId, roleId, statements, withAction };
}

describe.each([
  ['default', () => synthCairn(), ''],
  ['stage dev', () => synthCairn({}, { 'cairn:stage': 'dev', 'cairn:emailFrom': 'crm@shop.example' }), '-dev'],
])('Journeys (%s)', (_label, make, suffix) => {
  let s: Synthesised;
  let t: ReturnType<typeof setup>;
  beforeAll(() => {
    s = make();
    t = setup(s);
  });

  it('λ journey has a fixed name; λ admin gets its ARN to point journey rules at', () => {
    expect(t.resources[t.fnId]!.Properties.FunctionName).toBe(`cairn-journey${suffix}`);
    const adminId = s.stack.getLogicalId(s.stack.catalog.fn('admin').function.node.defaultChild as CfnFunction);
    const arn = JSON.stringify(t.resources[adminId]!.Properties.Environment.Variables[ENV.journeyFunction]);
    expect(arn).toContain(`:function:cairn-journey${suffix}`);
  });

  it('only journey rules of the Cairn bus may invoke it (resource policy)', () => {
    const perms = Object.values(t.resources).filter((r) => r.Type === 'AWS::Lambda::Permission' && JSON.stringify(r.Properties.FunctionName).includes(t.fnId));
    expect(perms).toHaveLength(1);
    const p = perms[0]!.Properties;
    expect(p.Principal).toBe('events.amazonaws.com');
    expect(p.Action).toBe('lambda:InvokeFunction');
    const src = JSON.stringify(p.SourceArn);
    expect(src).toContain(':rule/');
    expect(src).toContain('/cairn-journey-*');
    expect(p.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
  });

  it("the wait scheduler role is assumable by this account's schedules only and can only invoke λ journey", () => {
    const roleId = t.id(s.stack.journeys.schedulerRole);
    const role = t.resources[roleId]!.Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
    const st = t.statements(roleId);
    expect(st).toHaveLength(1);
    expect(st[0]!.Action).toBe('lambda:InvokeFunction');
    expect(JSON.stringify(st[0]!.Resource)).toContain(`:function:cairn-journey${suffix}"`);
    const group = Object.values(t.resources).find((r) => r.Type === 'AWS::Scheduler::ScheduleGroup')!;
    expect(group.Properties.Name).toBe(`cairn-journeys${suffix}`);
  });

  it('λ journey: schedules of its group, passing only its scheduler role, to the scheduler only', () => {
    const sched = t.statements(t.roleId).filter((st) => asArray(st.Action).some((a: string) => a.startsWith('scheduler:')));
    expect(sched).toHaveLength(1);
    expect(asArray(sched[0]!.Action).sort()).toEqual(['scheduler:CreateSchedule', 'scheduler:DeleteSchedule']);
    expect(JSON.stringify(sched[0]!.Resource)).toContain(`:schedule/cairn-journeys${suffix}/*`);
    const pass = t.withAction(t.roleId, 'iam:PassRole');
    expect(pass).toHaveLength(1);
    expect(pass[0]!.Resource).toEqual({ 'Fn::GetAtt': [t.id(s.stack.journeys.schedulerRole), 'Arn'] });
    expect(pass[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
  });

  it('λ journey: SES SendEmail from the sender identity only; SNS Publish (SMS) is the only "*" besides X-Ray', () => {
    const from = suffix ? 'crm@shop.example' : 'no-reply@example.com';
    const ses = t.withAction(t.roleId, 'ses:SendEmail');
    expect(ses).toHaveLength(1);
    const res = JSON.stringify(ses[0]!.Resource);
    expect(res).toContain(`:identity/${from}`);
    expect(res).toContain(`:identity/${from.split('@')[1]}`);
    expect(res).not.toContain('*');
    const vars = t.resources[t.fnId]!.Properties.Environment.Variables;
    expect(vars[ENV.emailFrom]).toBe(from);
    const star = t.statements(t.roleId).filter((st) => asArray(st.Resource).includes('*'));
    expect(star.flatMap((st) => asArray(st.Action)).filter((a: string) => !a.startsWith('xray:'))).toEqual(['sns:Publish']);
  });

  it('the coupons table: pk only, on-demand, PITR, the Cairn key; λ journey and λ admin reach it with GetItem/PutItem/UpdateItem, λ erase with GetItem/UpdateItem/DeleteItem', () => {
    const tableId = t.id(s.stack.journeys.couponsTable);
    const table = t.resources[tableId]!.Properties;
    expect(table.TableName).toBe(`cairn-coupons${suffix}`);
    expect(table.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
    expect(table.TimeToLiveSpecification).toBeUndefined();
    const roles = Object.entries(t.resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    const reach: Record<string, string[]> = {};
    for (const [roleId] of roles)
      for (const st of t.statements(roleId))
        if (JSON.stringify(st.Resource).includes(`"${tableId}"`)) reach[roleId] = [...(reach[roleId] ?? []), ...asArray(st.Action as string)];
    const roleOf = (fn: 'journey' | 'admin' | 'erase') =>
      t.resources[s.stack.getLogicalId(s.stack.catalog.fn(fn).function.node.defaultChild as CfnFunction)]!.Properties.Role['Fn::GetAtt'][0] as string;
    expect(Object.keys(reach).sort()).toEqual([roleOf('journey'), roleOf('admin'), roleOf('erase')].sort());
    for (const fn of ['journey', 'admin'] as const)
      expect([...new Set(reach[roleOf(fn)])].sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    // λ erase: the person's holder item and issue items read and deleted, their codes updated; no PutItem, no Scan.
    expect([...new Set(reach[roleOf('erase')])].sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem']);
    const fnEnv = (fn: 'journey' | 'admin') =>
      t.resources[s.stack.getLogicalId(s.stack.catalog.fn(fn).function.node.defaultChild as CfnFunction)]!.Properties.Environment.Variables;
    for (const fn of ['journey', 'admin'] as const) expect(fnEnv(fn)[ENV.couponsTable]).toEqual({ Ref: tableId });
  });

  it('webhook secret is generated, encrypted with the Cairn key, and read at run time: the environment holds its ARN, never its value', () => {
    const secretId = t.id(s.stack.journeys.webhookSecret);
    const secret = t.resources[secretId]!.Properties;
    expect(secret.GenerateSecretString).toBeDefined();
    expect(secret.KmsKeyId).toBeDefined();
    const vars = t.resources[t.fnId]!.Properties.Environment.Variables;
    expect(vars[ENV.webhookSecretId]).toEqual({ Ref: secretId });
    expect(JSON.stringify(vars)).not.toContain('{{resolve:secretsmanager:');
    expect(Object.keys(vars)).not.toContain('CAIRN_WEBHOOK_SECRET');
    // GetSecretValue on this secret only (no DescribeSecret, no wildcard), Decrypt through Secrets Manager.
    const reads = t.statements(t.roleId).filter((st) => asArray(st.Action).some((a: string) => a.startsWith('secretsmanager:')));
    expect(reads).toEqual([expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } })]);
    const decrypt = t.statements(t.roleId).filter((st) => JSON.stringify(st.Condition ?? {}).includes('secretsmanager.'));
    expect(decrypt).toHaveLength(1);
    expect(decrypt[0]!.Action).toBe('kms:Decrypt');
  });

  it('async invocations: 2 retries, then an encrypted SQS on-failure queue it can only send to', () => {
    const cfg = Object.values(t.resources).find(
      (r) => r.Type === 'AWS::Lambda::EventInvokeConfig' && JSON.stringify(r.Properties.FunctionName).includes(t.fnId),
    )!;
    expect(cfg.Properties.MaximumRetryAttempts).toBe(2);
    const qId = t.id(s.stack.journeys.failureQueue);
    expect(cfg.Properties.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [qId, 'Arn'] });
    expect(t.resources[qId]!.Properties.KmsMasterKeyId).toBeDefined();
    const send = t.statements(t.roleId).filter((st) => JSON.stringify(st.Resource).includes(qId));
    expect(send.flatMap((st) => asArray(st.Action))).toEqual(['sqs:SendMessage']);
  });
});
