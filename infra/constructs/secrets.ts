/**
 * Secrets from their SECRETS definitions (shared/config/resources.ts, docs/security.md#secrets):
 * a value CloudFormation generates (letters and digits, `length` characters), encrypted with the
 * Cairn key, kept like the data (`dataRemovalPolicy`). Functions read them at run time (their
 * `access.secrets` grants GetSecretValue; their environment holds the ARN, never the value). No
 * rotation schedule: each definition says why (`noRotation`, cdk-nag AwsSolutions-SMG4).
 */
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SECRETS, type SecretDef } from '#shared/config';
import type { Catalog, SecretName } from './catalog';
import { acknowledge } from './nag';

/** Creates the secret `name` in `scope` (its construct id is its definition's `id`) and adds it to the catalog. */
export function cairnSecret(scope: Construct, catalog: Catalog, name: SecretName): secretsmanager.Secret {
  const def: SecretDef = SECRETS[name];
  const secret = new secretsmanager.Secret(scope, def.id, {
    description: def.description,
    encryptionKey: catalog.key,
    generateSecretString: { passwordLength: def.length, excludePunctuation: true },
    removalPolicy: catalog.settings.dataRemovalPolicy,
  });
  acknowledge(secret, 'AwsSolutions-SMG4', def.noRotation);
  catalog.secrets[name] = secret;
  return secret;
}
