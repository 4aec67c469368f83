/**
 * The lake's `journey_steps` rows, sent on the raw stream (steps.ts): one record per transition, which
 * λ normalize writes into its batch's object (shared/message/lake-rows.ts).
 */
import { type JsonObject, type LakeRowsEnvelope, partitionKeyFor } from '../message';
import { putAllRecords } from '../message/stream';
import type { JourneyStepLog, LakeJourneyStepRow } from './steps';

export class StreamJourneyStepLog implements JourneyStepLog {
  constructor(
    private readonly rawStream: string,
    private readonly backoffMs: number,
  ) {}

  async put(id: string, profileId: string, at: number, rows: LakeJourneyStepRow[]): Promise<void> {
    const envelope: LakeRowsEnvelope = {
      lakeRows: { table: 'journey_steps', id, profileId, rows: rows as unknown as JsonObject[] },
      receivedAt: new Date(at).toISOString(),
    };
    await putAllRecords(this.rawStream, [{ partitionKey: partitionKeyFor(profileId), data: Buffer.from(JSON.stringify(envelope)) }], {
      backoffMs: this.backoffMs,
    });
  }
}
