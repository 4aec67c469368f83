/**
 * Recurring schedules (SCHEDULES in shared/config/resources.ts, the definitions the local stack
 * creates in its scheduler too): one EventBridge Scheduler schedule per definition, invoking its
 * function with `{}`, through a role that may invoke exactly that function and nothing else.
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { SCHEDULES, type ScheduleDef } from '#shared/config';
import type { Catalog } from './catalog';

export class Schedules extends Construct {
  readonly schedules: Record<string, scheduler.CfnSchedule> = {};
  readonly roles: Record<string, iam.Role> = {};

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    for (const [key, def] of Object.entries(SCHEDULES) as [string, ScheduleDef][]) {
      const fn = catalog.fn(def.fn).function;
      const role = new iam.Role(this, `${def.id}Role`, {
        // Only schedules of this account may assume it (confused-deputy guard).
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } }),
        description: `Cairn schedule ${def.name}: invokes the ${def.fn} function`,
      });
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
      this.roles[key] = role;
      this.schedules[key] = new scheduler.CfnSchedule(this, def.id, {
        name: catalog.settings.name(def.name),
        description: def.description,
        scheduleExpression: def.expression,
        flexibleTimeWindow: { mode: 'OFF' },
        state: 'ENABLED',
        target: {
          arn: fn.functionArn,
          roleArn: role.roleArn,
          input: '{}',
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        },
      });
    }
  }
}
