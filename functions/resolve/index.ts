import { depsFromEnv, resolveHandler } from '../../shared/identity/handler';

/** λ resolve: normalized stream → identity graph, profiles, timeline, lake snapshots, bus (docs/identity.md). */
export const handler = resolveHandler(depsFromEnv);
