/**
 * Admin API (docs/api.md#admin-api): λ admin behind the `admin` routes of `ROUTES`, which API Gateway
 * authorises with IAM (SigV4). The routes themselves are added by `Collection.addRoutes`, since
 * admin and collection routes share one HTTP API.
 */
import { Construct } from 'constructs';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';

export class Admin extends Construct {
  readonly admin: CairnFunction;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    this.admin = new CairnFunction(this, 'Admin', { name: 'admin', catalog });
  }
}
