/** The deployment's policy as stored in the definitions table (`policy#default`), or null when none is applied. */
import { POLICY_ID, type PolicyDef } from '../../definitions';
import { getDefinition } from '../../definitions/store';

export const storedPolicy = (table: string) => async (): Promise<PolicyDef | null> => (await getDefinition(table, 'policy', POLICY_ID))?.definition ?? null;
