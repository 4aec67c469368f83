/**
 * Admin API (docs/api.md#admin-api): λ admin behind the `admin` routes of `ROUTES`, which API Gateway
 * authorises with IAM (SigV4). The routes themselves are added by `Collection.addRoutes`, since
 * admin and collection routes share one HTTP API; the console's JWT API (console-api.ts) carries the
 * same routes to the same function.
 */
import { Construct } from 'constructs';
import { FUNCTIONS } from '#shared/config';
import { acknowledge } from './nag';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';
import { lakeQueryPolicy } from './lake-query-access';

export class Admin extends Construct {
  readonly admin: CairnFunction;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    this.admin = new CairnFunction(this, 'Admin', { name: 'admin', catalog });
    // Lake queries, reports and journey simulations: Athena in the stack's workgroup (lake-query-access.ts).
    const lake = lakeQueryPolicy(this, catalog, FUNCTIONS.admin.access.lake.read);
    for (const st of lake.statements) this.admin.role.addToPrincipalPolicy(st);
    const policy = this.admin.role.node.findChild('DefaultPolicy');
    for (const p of lake.nagPrefixed) if (p.findings.length) acknowledge(policy, 'AwsSolutions-IAM5', p.reason, p.findings);
  }
}
