/**
 * Definitions and segments (docs/definitions.md, docs/segments.md): the applied definitions table,
 * the members index table, λ recheck (re-evaluation when rolling
 * windows slide and after a segment is applied), and the role EventBridge Scheduler assumes for the
 * one-time recheck schedules λ resolve, λ admin and λ recheck create at run time.
 *
 * Built in two steps because λ resolve needs the members table and the scheduler role, while
 * λ recheck needs the profiles table: `new Segments(...)` before Identity, `addRecheck()` after it.
 * λ recheck has a fixed name (`cairn-recheck[-stage]`) so its ARN is known before it exists and it
 * can schedule itself.
 */
import { Aws } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';
import { cairnTable } from './storage';

export class Segments extends Construct {
  readonly definitionsTable: dynamodb.Table;
  readonly membersTable: dynamodb.Table;
  readonly schedulerRole: iam.Role;
  readonly recheckName: string;
  recheck?: CairnFunction;

  constructor(
    scope: Construct,
    id: string,
    private readonly catalog: Catalog,
  ) {
    super(scope, id);
    this.definitionsTable = cairnTable(this, catalog, 'definitions');
    this.membersTable = cairnTable(this, catalog, 'segmentMembers');
    this.recheckName = catalog.settings.name('cairn-recheck');
    const targetArn = `arn:${Aws.PARTITION}:lambda:${Aws.REGION}:${Aws.ACCOUNT_ID}:function:${this.recheckName}`;
    this.schedulerRole = new iam.Role(this, 'RecheckSchedulerRole', {
      // Only schedules of this account may assume it (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
      description: 'Cairn segment recheck schedules: invokes the recheck function',
    });
    this.schedulerRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [targetArn] }));
    catalog.recheckScheduler = { targetArn, roleArn: this.schedulerRole.roleArn };
  }

  /** λ recheck (after the profiles table exists). */
  addRecheck(): CairnFunction {
    this.recheck = new CairnFunction(this, 'Recheck', { name: 'recheck', catalog: this.catalog });
    (this.recheck.function.node.defaultChild as CfnFunction).functionName = this.recheckName;
    return this.recheck;
  }
}
