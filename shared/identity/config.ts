/**
 * Identity resolution settings: which identifier types exist, how they rank, how many values of
 * each a profile may hold, which values are never merged on, and the automatic super-node cap.
 * Defaults follow Segment Unify's; `CAIRN_IDENTITY_CONFIG` (JSON, optional) overrides them
 * (functions/env.ts reads it; the handlers take the result).
 */
import { CairnError } from '../errors';

export interface IdentifierTypeConfig {
  /** Lower ranks first: the profile of the highest-ranked identifier of a message anchors it. */
  priority: number;
  /** Most distinct values of this type one profile may hold (a merge that would exceed it is refused). */
  limit: number;
  /**
   * Super-node cap: once an identifier has linked (merged, attached or been refused with) this many
   * other identifiers/profiles, it is blocked automatically. `null`: never (user-chosen keys).
   */
  superNodeCap: number | null;
  /** Trait names (in `traits` and `context.traits`) that carry a value of this type. */
  traitKeys?: string[];
  /** `context.externalIds[].type` values that carry a value of this type. */
  externalIdTypes?: string[];
}

export interface IdentityConfig {
  types: Record<string, IdentifierTypeConfig>;
  /** `type:value` (normalised) or `*:value` for any type; such identifiers are never used. */
  blockList: string[];
  /** Country assumed for phone numbers written without an international prefix. */
  defaultPhoneCountry: string;
  /** Identifier values longer than this are ignored (quarantined). */
  maxValueLength: number;
  /** In-batch conflict retries before the batch is reported failed. */
  maxConflictRetries: number;
}

export const BUILTIN_TYPES = ['user_id', 'anonymous_id', 'email', 'phone'] as const;

export const DEFAULT_IDENTITY_CONFIG: IdentityConfig = {
  types: {
    user_id: { priority: 1, limit: 1, superNodeCap: null },
    crm_id: { priority: 2, limit: 1, superNodeCap: null, traitKeys: ['crm_id', 'crmId'], externalIdTypes: ['crm_id'] },
    email: { priority: 3, limit: 5, superNodeCap: 20, traitKeys: ['email'] },
    phone: { priority: 4, limit: 5, superNodeCap: 20, traitKeys: ['phone'] },
    anonymous_id: { priority: 5, limit: 100, superNodeCap: 20 },
  },
  blockList: [
    'email:test@test.com',
    'email:test@example.com',
    'email:user@example.com',
    'email:email@example.com',
    'email:noreply@example.com',
    'email:no-reply@example.com',
    'email:none@none.com',
    'email:null@null.com',
    'anonymous_id:00000000-0000-0000-0000-000000000000',
    'anonymous_id:11111111-1111-1111-1111-111111111111',
    'phone:+10000000000',
    'phone:+11111111111',
    'phone:+15555555555',
    '*:null',
    '*:undefined',
    '*:none',
    '*:n/a',
    '*:0',
    '*:-1',
    '*:[object object]',
    'user_id:anonymous',
    'user_id:guest',
  ],
  defaultPhoneCountry: 'US',
  maxValueLength: 256,
  maxConflictRetries: 5,
};

/** Merges a partial override (e.g. from `CAIRN_IDENTITY_CONFIG`) over the defaults. */
export function identityConfig(override?: Partial<IdentityConfig> | string): IdentityConfig {
  let o: Partial<IdentityConfig> = {};
  if (typeof override === 'string') {
    try {
      o = JSON.parse(override) as Partial<IdentityConfig>;
    } catch {
      throw new CairnError('invalid_identity_config', 'CAIRN_IDENTITY_CONFIG is not valid JSON', 500);
    }
  } else if (override) o = override;
  const types = { ...DEFAULT_IDENTITY_CONFIG.types };
  for (const [t, c] of Object.entries(o.types ?? {})) {
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(t)) throw new CairnError('invalid_identity_config', `identifier type "${t}" must be snake_case`, 500);
    types[t] = { ...(types[t] ?? { priority: 10, limit: 1, superNodeCap: null }), ...c };
  }
  for (const [t, c] of Object.entries(types)) {
    if (!(c.limit >= 1)) throw new CairnError('invalid_identity_config', `types.${t}.limit must be >= 1`, 500);
  }
  return {
    ...DEFAULT_IDENTITY_CONFIG,
    ...o,
    types,
    blockList: o.blockList ?? DEFAULT_IDENTITY_CONFIG.blockList,
  };
}
