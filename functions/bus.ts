/**
 * The bus publisher every λ that publishes builds alike (resolve, recheck, scores, journey, admin):
 * `CAIRN_BUS_PUBLISH` = `matched` (default: only events some rule of the bus can match are put,
 * docs/eventbridge.md "What is published") or `all`; `CAIRN_BUS_RULES_TTL_MS` how long the rules are
 * kept before listing them again (default: as long as the definitions are trusted, CAIRN_DEFINITIONS_TTL_MS,
 * else BUS.rulesRefreshMs): a journey's rule is a definition too, so a stack that picks up a new journey
 * within that time also publishes the events it matches within that time.
 */
import { BUS } from '#shared/config';
import { CairnError } from '#shared/errors';
import { definitionsTtlFromEnv } from './env';
import { eventBridgePublisher, type BusPublishMode } from '#shared/identity/bus';
import type { Publisher } from '#shared/identity';

/** The publishing mode from the environment (`matched` when unset). */
export function busPublishModeFromEnv(): BusPublishMode {
  const v = process.env[BUS.publishVar] || 'matched';
  if (v !== 'all' && v !== 'matched') throw new CairnError('env_invalid', `${BUS.publishVar} must be "matched" or "all", not ${JSON.stringify(v)}`, 500);
  return v;
}

export function busPublisherFromEnv(busName: string): Publisher {
  const ttl = Number(process.env.CAIRN_BUS_RULES_TTL_MS);
  return eventBridgePublisher(busName, {
    mode: busPublishModeFromEnv(),
    refreshMs:
      Number.isFinite(ttl) && ttl >= 0 && process.env.CAIRN_BUS_RULES_TTL_MS
        ? ttl
        : process.env.CAIRN_DEFINITIONS_TTL_MS
          ? definitionsTtlFromEnv()
          : BUS.rulesRefreshMs,
  });
}
