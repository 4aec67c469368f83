/**
 * Plugs the local Secrets Manager (server.ts) into the local stack (discovered by local/services.ts):
 * name `secretsmanager`, so its endpoint is listed in `/_aws/endpoints` and set as
 * CAIRN_ENDPOINT_SECRETSMANAGER, where the handlers' and the CLI's Secrets Manager clients point.
 * The stack then creates the SECRETS in it (secrets.ts `ensureLocalSecrets`), before any function runs.
 *
 * `startLocalSecretsManager` does the same for a process that runs handlers against the emulators
 * without the stack (tests, benchmarks: local/emulators.ts).
 */
import type { LocalService } from '../services';
import { ensureLocalSecrets } from './secrets';
import { startSecretsManager, type LocalSecretsManager } from './server';

export const service: LocalService = {
  name: 'secretsmanager',
  async start(ctx) {
    const sm = await startSecretsManager({ dataDir: ctx.dataDir, region: process.env.AWS_REGION });
    return { endpoint: sm.endpoint, status: () => ({ secrets: sm.names() }), close: () => sm.close() };
  },
};

export default service;

/**
 * Starts a local Secrets Manager under `dataDir`, points this process's clients at it
 * (CAIRN_ENDPOINT_SECRETSMANAGER) and creates the SECRETS in it.
 */
export async function startLocalSecretsManager(dataDir: string): Promise<LocalSecretsManager> {
  const sm = await startSecretsManager({ dataDir, region: process.env.AWS_REGION });
  process.env.CAIRN_ENDPOINT_SECRETSMANAGER = sm.endpoint;
  await ensureLocalSecrets();
  return sm;
}
