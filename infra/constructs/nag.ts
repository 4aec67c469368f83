/**
 * cdk-nag v3 acknowledgements (CDK `Validations.of(x).acknowledge`). Every acknowledgement names
 * one rule — or one finding of a multi-finding rule, e.g. `AwsSolutions-IAM5[Resource::*]` — on
 * the narrowest construct, with the reason it is acceptable.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export function acknowledge(scope: IConstruct, rule: string, reason: string, findings?: string[]): void {
  const ids = findings?.length ? findings.map((f) => `${rule}[${f}]`) : [rule];
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}
