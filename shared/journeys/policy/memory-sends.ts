/** An in-memory SendLog with DynamoSendLog's conditional semantics, for tests of the shell and property tests. */
import type { GovernedChannel } from '../../definitions';
import type { Send } from './caps';
import { sendsKey, type ChannelSends, type SendLog } from './sends';

export class MemorySendLog implements SendLog {
  readonly items = new Map<string, ChannelSends & { expiresAt: number }>();

  async get(profileId: string, channel: GovernedChannel): Promise<ChannelSends | null> {
    const item = this.items.get(sendsKey(profileId, channel));
    return item ? structuredClone({ sends: item.sends, version: item.version }) : null;
  }

  async put(profileId: string, channel: GovernedChannel, sends: Send[], expected: number, expiresAt: number): Promise<boolean> {
    const key = sendsKey(profileId, channel);
    if ((this.items.get(key)?.version ?? 0) !== expected) return false;
    this.items.set(key, { sends: structuredClone(sends), version: expected + 1, expiresAt });
    return true;
  }
}
