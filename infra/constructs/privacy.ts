/**
 * Privacy (docs/privacy.md): the privacy table (suppression list, erasure requests and their audit
 * records) and the suppression key (SECRETS.suppressionKey: the list's hashes are HMACs under it) —
 * created before the pipeline stages, since λ normalize and λ resolve read the list —
 * and, once the journeys exist, λ erase with the one grant its FunctionDef cannot express: deleting
 * journey waits (schedules of the journeys group only). SCHEDULES.erasure runs it (Schedules construct).
 */
import { Aws } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';
import { acknowledge } from './nag';
import { cairnSecret } from './secrets';
import { cairnTable } from './storage';

export class Privacy extends Construct {
  readonly table: dynamodb.Table;
  readonly suppressionKey: secretsmanager.Secret;
  erase?: CairnFunction;

  constructor(
    scope: Construct,
    id: string,
    private readonly catalog: Catalog,
  ) {
    super(scope, id);
    this.table = cairnTable(this, catalog, 'privacy');
    this.suppressionKey = cairnSecret(this, catalog, 'suppressionKey');
  }

  /** λ erase: after Identity, Segments and Journeys (it erases what they keep). */
  addEraser(): CairnFunction {
    const catalog = this.catalog;
    this.erase = new CairnFunction(this, 'Erase', { name: 'erase', catalog });
    const group = catalog.journeys().scheduleGroup;
    this.erase.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['scheduler:DeleteSchedule'],
        resources: [`arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule/${group}/*`],
      }),
    );
    acknowledge(
      this.erase.role.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5',
      `An erased person's journey waits are named per run and step at run time; λ erase may only delete schedules of the ${group} group, which holds journey waits only.`,
      [`Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${group}/*`],
    );
    return this.erase;
  }
}
