/**
 * The Imports construct (docs/import.md): the lake bucket sends its object events to EventBridge, a
 * rule on the default bus matching `Object Created` under `imports/` of that bucket invokes λ
 * import (and only that rule may), and λ import can read `imports/*` but write only its outputs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { FUNCTIONS, IMPORTS } from '#shared/config/resources';
import { synthCairn, type Synthesised } from './synth';

type Json = Record<string, any>;
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

let s: Synthesised;
let resources: Record<string, Json>;
let fnId: string;
let bucketId: string;
let statements: Json[];

beforeAll(() => {
  s = synthCairn();
  resources = s.template.toJSON().Resources;
  fnId = s.stack.getLogicalId(s.stack.imports.import.function.node.defaultChild as CfnFunction);
  bucketId = s.stack.getLogicalId(s.stack.lake.bucket.node.defaultChild as never);
  const roleId = resources[fnId]!.Properties.Role['Fn::GetAtt'][0] as string;
  statements = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
});

/** `Fn::Join` of the bucket ARN and a key pattern → the pattern. */
const keyPatterns = (st: Json): string[] =>
  asArray(st.Resource).flatMap((r: Json) => (r['Fn::Join'] && JSON.stringify(r).includes(bucketId) ? [r['Fn::Join'][1][1] as string] : []));

describe('Imports', () => {
  it('λ import: 15 minutes, 1 GB, writing to the raw stream', () => {
    const p = resources[fnId]!.Properties;
    expect(p.Timeout).toBe(FUNCTIONS.import.timeoutSeconds);
    expect(p.Timeout).toBe(900);
    expect(p.MemorySize).toBe(1024);
    const put = statements.filter((st) => asArray(st.Action).includes('kinesis:PutRecords'));
    expect(put).toHaveLength(1);
  });

  it('the lake bucket sends its object events to EventBridge (no notification custom resource)', () => {
    expect(resources[bucketId]!.Properties.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    expect(Object.values(resources).filter((r) => r.Type === 'Custom::S3BucketNotifications')).toEqual([]);
  });

  it('a rule matching Object Created under imports/ of the lake bucket invokes λ import, with retries', () => {
    const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties.Targets ?? []).includes(fnId));
    expect(rules).toHaveLength(1);
    const rule = rules[0]!.Properties;
    expect(rule.EventBusName).toBeUndefined(); // the default bus, where S3 sends its events
    expect(rule.EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: [{ Ref: bucketId }] }, object: { key: [{ prefix: IMPORTS.prefix }] } },
    });
    expect(rule.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 6 * 3600 } }),
    ]);
    // Only that rule may invoke it.
    const perms = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Permission' && JSON.stringify(r.Properties.FunctionName).includes(fnId));
    expect(perms).toHaveLength(1);
    expect(perms[0]!.Properties.Principal).toBe('events.amazonaws.com');
    expect(JSON.stringify(perms[0]!.Properties.SourceArn)).toContain(s.stack.getLogicalId(s.stack.imports.rule.node.defaultChild as never));
  });

  it('reads imports/* (and sets the expiry tag there) and writes only its report, rejects and checkpoint beside a file', () => {
    const s3 = statements.filter((st) => asArray(st.Action).some((a: string) => a.startsWith('s3:') && a !== 's3:ListBucket'));
    const reads = s3.filter((st) => asArray(st.Action).includes('s3:GetObject'));
    const writes = s3.filter((st) => asArray(st.Action).includes('s3:PutObject'));
    expect(reads.flatMap(keyPatterns)).toEqual(['/imports/*']);
    // Tags only (the expiry tag, IMPORTS.expiryTag): no content of a dropped file is ever written.
    expect(asArray(reads[0]!.Action)).toEqual(['s3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging']);
    const tagging = s3.filter((st) => asArray(st.Action).some((a: string) => /Tagging/.test(a)));
    expect(tagging.flatMap(keyPatterns)).toEqual(['/imports/*']);
    expect(writes.flatMap(keyPatterns).sort()).toEqual([
      '/imports/*.checkpoint.json',
      '/imports/*.rejects.csv',
      '/imports/*.rejects.jsonl',
      '/imports/*.report.json',
    ]);
    expect(statements.flatMap((st) => asArray(st.Action)).filter((a: string) => a === 's3:DeleteObject')).toEqual([]);
  });
});
