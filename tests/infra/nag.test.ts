/**
 * cdk-nag (v3, AWS Solutions pack): no unacknowledged error or warning, and every
 * acknowledgement is specific, explained, scoped below the stage constructs, and still needed.
 * Checked for the default stack and for a variant (stage name, SQS failure destination,
 * retain=false), since options change which resources exist.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { STREAMS, TABLES } from '#shared/config/resources';
import { nagFindings, synthCairn, type Synthesised } from './synth';

interface Ack {
  path: string;
  id: string;
  reason: string;
}

function acknowledgements(s: Synthesised): Ack[] {
  const out: Ack[] = [];
  for (const c of s.stack.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        out.push({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}

/** Every finding the pack would report if nothing were acknowledged. */
function rawFindings(s: Synthesised): { rule: string; path: string }[] {
  const pack = new AwsSolutionsChecks(s.app);
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return pack.validateScope(s.stack).violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
}

const variants: [string, () => Synthesised][] = [
  ['default', () => synthCairn()],
  [
    'stage dev, SQS failure destination, retain=false',
    () =>
      synthCairn(
        {},
        {
          'cairn:stage': 'dev',
          'cairn:failureDestination': 'sqs',
          'cairn:retain': 'false',
        },
      ),
  ],
  // The cost settings (docs/deploy.md#dynamodb-capacity): provisioned tables with auto scaling, 24 h streams.
  ['provisioned DynamoDB, 24 h stream retention', () => synthCairn({}, { 'cairn:dynamoDbCapacity': 'provisioned', 'cairn:streamRetentionHours': '24' })],
];

describe.each(variants)('cdk-nag AwsSolutions: %s', (_label, make) => {
  let s: Synthesised;
  beforeAll(() => {
    s = make();
  });

  it('has zero unacknowledged errors and zero unacknowledged warnings', () => {
    expect(nagFindings(s)).toEqual([]);
  });

  it('every acknowledgement names one rule (one finding for IAM5) with a specific reason', () => {
    const acks = acknowledgements(s);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id, a.path).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      if (a.id.startsWith('AwsSolutions-IAM5')) expect(a.id, `${a.path}: IAM5 must name the finding`).toMatch(/\[(Resource|Action)::.+\]$/);
      expect(a.reason.length, `${a.path} ${a.id}`).toBeGreaterThanOrEqual(60);
    }
  });

  it('acknowledgements sit on resources inside a stage construct, never on the stack or a stage', () => {
    for (const a of acknowledgements(s)) {
      // Stack/Stage/Resource at least: e.g. CairnTest/Collection/RawStream.
      expect(a.path.split('/').length, a.path).toBeGreaterThanOrEqual(3);
    }
  });

  it('every acknowledgement silences a finding that exists (none is stale or too broad)', () => {
    const raw = rawFindings(s);
    for (const a of acknowledgements(s)) {
      const silenced = raw.filter((f) => f.rule === a.id && (f.path === a.path || f.path.startsWith(`${a.path}/`)));
      expect(silenced.length, `${a.path} ${a.id}`).toBeGreaterThan(0);
    }
  });
});

describe('variant settings', () => {
  let s: Synthesised;
  let resources: Record<string, Record<string, any>>;
  beforeAll(() => {
    s = synthCairn({ stage: 'dev', failureDestination: 'sqs', retain: false });
    resources = s.template.toJSON().Resources;
  });
  const ofType = (t: string) => Object.entries(resources).filter(([, r]) => r.Type === t);

  it('a stage suffix on every named resource lets two stacks coexist', () => {
    const names = [
      ...ofType('AWS::DynamoDB::Table').map(([, r]) => r.Properties.TableName),
      ...ofType('AWS::Kinesis::Stream').map(([, r]) => r.Properties.Name),
      ...ofType('AWS::Events::EventBus').map(([, r]) => r.Properties.Name),
      ...ofType('AWS::Athena::WorkGroup').map(([, r]) => r.Properties.Name),
    ];
    expect(names.sort()).toEqual(
      [...Object.values(TABLES).map((t) => `${t.name}-dev`), ...Object.values(STREAMS).map((t) => `${t.name}-dev`), 'cairn-dev', 'cairn-dev'].sort(),
    );
    expect(ofType('AWS::Glue::Database')[0]![1].Properties.DatabaseInput.Name).toBe('cairn_dev');
    expect(ofType('AWS::KMS::Alias')[0]![1].Properties.AliasName).toBe('alias/cairn-dev');
  });

  it('the SQS failure destination is KMS-encrypted, TLS-only, and the mapping uses it', () => {
    const [[qid, q]] = ofType('AWS::SQS::Queue') as [[string, Record<string, any>]];
    const keyId = ofType('AWS::KMS::Key')[0]![0];
    expect(q.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const policy = ofType('AWS::SQS::QueuePolicy')[0]![1];
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    for (const [, esm] of ofType('AWS::Lambda::EventSourceMapping')) {
      expect(esm.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': [qid, 'Arn'] } } });
    }
  });

  it('retain=false deletes data with the stack and turns deletion protection off', () => {
    for (const t of ['AWS::DynamoDB::Table', 'AWS::Kinesis::Stream', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SQS::Queue']) {
      for (const [id, r] of ofType(t)) expect(r.DeletionPolicy, id).toBe('Delete');
    }
    for (const [, t] of ofType('AWS::DynamoDB::Table')) expect(t.Properties.DeletionProtectionEnabled).toBe(false);
  });
});
