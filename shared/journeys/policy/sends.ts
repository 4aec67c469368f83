/**
 * The person's send log, per channel (docs/journeys.md#governance): the messages counted against the
 * policy's caps across every journey. One item per person and channel, written with a condition on
 * the version read (the cap check and the count are one conditional single-item write: two journeys
 * sending at once cannot both take the last slot). DynamoDB: dynamo-sends.ts; memory: memory-sends.ts.
 */
import type { GovernedChannel } from '../../definitions';
import type { Send } from './caps';

export interface ChannelSends {
  sends: Send[];
  /** Stored version; every write is conditional on it (0: no item yet). */
  version: number;
}

export interface SendLog {
  /** The person's sends on `channel` (read consistently), or null. */
  get(profileId: string, channel: GovernedChannel): Promise<ChannelSends | null>;
  /**
   * Stores `sends` (as version `expected + 1`) iff the stored version is `expected` (0: absent); false
   * when another write came first. The item may expire at `expiresAt` (ms): its sends are old by then.
   */
  put(profileId: string, channel: GovernedChannel, sends: Send[], expected: number, expiresAt: number): Promise<boolean>;
}

/** Key of a person's send log on a channel in the journeys table (erasure deletes it: shared/privacy). */
export const sendsKey = (profileId: string, channel: GovernedChannel) => `sends#${profileId}#${channel}`;
