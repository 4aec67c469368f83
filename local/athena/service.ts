/**
 * Plugs the local Athena (server.ts) into the local stack (discovered by local/services.ts): name
 * `athena`, so its endpoint is listed in `/_aws/endpoints` and set as CAIRN_ENDPOINT_ATHENA, where λ
 * admin's Athena client points (its lake queries, docs/api.md#lake-queries). One workgroup,
 * LOCAL_ATHENA.workgroup, the one localEnvDefaults gives λ admin.
 */
import { LOCAL_ATHENA } from '#shared/config';
import type { LocalService } from '../services';
import { startAthena } from './server';

export const service: LocalService = {
  name: 'athena',
  async start(ctx) {
    const athena = await startAthena({ dataDir: ctx.dataDir, workgroups: [LOCAL_ATHENA.workgroup] });
    return { endpoint: athena.endpoint, status: () => ({ executions: athena.counts() }), close: () => athena.close() };
  },
};

export default service;
