/** λ admin's router from its environment (set by the CDK, or by the local stack). */
import { createAdminRouter } from '#shared/admin';
import type { AdminRouter } from '#shared/http';
import { loadIdentityConfig } from '#shared/identity/config';
import { DynamoStore } from '#shared/identity/dynamo-store';
import { identityTablesFromEnv } from '../env';

export const adminRouterFromEnv = (): AdminRouter => createAdminRouter({ store: new DynamoStore(identityTablesFromEnv()), config: loadIdentityConfig() });
