/**
 * An in-memory TimelineReader with DynamoTimelineReader's answer (events at or after the start,
 * newest `limit`, once per messageId across the profiles): for tests of λ journey's shell and for
 * property tests. `reads` counts the reads (one per profile, as the table is queried).
 */
import type { TimelineEvent, TimelineReader } from './timeline';

export class MemoryTimeline implements TimelineReader {
  readonly events = new Map<string, TimelineEvent[]>();
  reads = 0;

  add(profileId: string, ...events: TimelineEvent[]): void {
    this.events.set(profileId, [...(this.events.get(profileId) ?? []), ...events]);
  }

  async since(profileIds: string[], sinceMs: number, limit: number): Promise<TimelineEvent[]> {
    this.reads += profileIds.length;
    const seen = new Set<string>();
    return profileIds
      .flatMap((id) => this.events.get(id) ?? [])
      .filter((e) => Date.parse(e.timestamp) >= sinceMs && !seen.has(e.messageId) && !!seen.add(e.messageId))
      .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }
}
