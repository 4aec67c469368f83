/**
 * Reading the environment a function was deployed with (table, stream, bucket and bus names; the CDK
 * sets them on AWS, the local stack sets them locally).
 */
import { CairnError } from '../errors';

/** The value of `name`; a missing or empty one is a deployment error (`env_unset`, docs/errors.md). */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new CairnError('env_unset', `environment variable ${name} is not set`, 500);
  return v;
}
