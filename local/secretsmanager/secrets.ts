/**
 * The SECRETS of shared/config/resources.ts in the local Secrets Manager, created as the CDK creates
 * them on AWS: `localValue` (the webhook key the demo's CRM verifies with), or a random value
 * generated here (letters and digits, `length` of them) and kept in the data directory from then on —
 * the suppression key of an install stays the same across restarts, and so do its hashes.
 */
import { randomBytes } from 'node:crypto';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { secretsManager } from '#shared/aws/clients';
import { SECRETS, type SecretDef } from '#shared/config';

/** Creates each secret that does not exist yet (one already there is left alone). Returns their names. */
export async function ensureLocalSecrets(): Promise<string[]> {
  const ensured: string[] = [];
  for (const def of Object.values(SECRETS) as SecretDef[]) {
    await secretsManager()
      .send(new CreateSecretCommand({ Name: def.name, Description: def.description, SecretString: def.localValue ?? generatedSecret(def.length) }))
      .catch((e: Error) => {
        if (e.name !== 'ResourceExistsException') throw e;
      });
    ensured.push(def.name);
  }
  return ensured;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A random string of letters and digits, as CloudFormation generates with `excludePunctuation` (rejection sampling: no bias). */
export function generatedSecret(length: number): string {
  let out = '';
  while (out.length < length) for (const b of randomBytes(length)) if (b < 248 && out.length < length) out += ALPHABET[b % 62];
  return out;
}
