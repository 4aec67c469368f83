/**
 * Update traits and emit event: the action becomes an `identify` / `track` message for the person,
 * put on the raw stream like any collected message (source `journeys`), so it is deduplicated,
 * normalised, stored in the lake and applied to the profile by the same pipeline, and history stays
 * complete. The messageId is derived from the run and the step: a retried action is the same
 * message, and normalize drops the duplicate.
 */
import { createHash } from 'node:crypto';
import { renderValue, type Json, type JsonObject } from '../../definitions';
import { partitionKeyFor, putAllRecords } from '../../message/stream';
import type { RawEnvelope } from '../../message';
import { messageIdentity } from '../profile';
import type { ActionInput, ActionResult } from './types';

export const JOURNEY_SOURCE_ID = 'journeys';

export const actionMessageId = (runId: string, stepId: string) =>
  `journey-${createHash('sha256').update(`${runId}\u0000${stepId}`).digest('hex').slice(0, 32)}`;

/** The message the action puts on the raw stream (null when the profile has no userId/anonymousId). */
export function pipelineMessage(input: ActionInput): JsonObject | null {
  const step = input.step;
  const who = messageIdentity(input.profile);
  if (!who) return null;
  const base: JsonObject = {
    ...who,
    messageId: actionMessageId(input.runId, step.id),
    timestamp: new Date(input.now).toISOString(),
    context: { cairn: { journeyId: input.journey.id, stepId: step.id, runId: input.runId } },
  };
  if (step.action === 'traits') {
    const traits: JsonObject = {};
    for (const [k, v] of Object.entries(step.set ?? {})) traits[k] = renderValue(v as Json, input.template);
    for (const k of step.unset ?? []) traits[k] = null;
    return { ...base, type: 'identify', traits };
  }
  if (step.action === 'event') {
    const properties = step.properties ? (renderValue(step.properties, input.template) as JsonObject) : {};
    return { ...base, type: 'track', event: step.name, properties };
  }
  throw new Error(`not a pipeline action: ${step.action}`);
}

/** Puts `message` (a message for the person, with its identity) on `rawStream`, retrying from `backoffMs`. */
export async function putOnRawStream(message: JsonObject, now: number, rawStream: string, backoffMs: number): Promise<void> {
  // Cairn's own journeys write as the operator: a server source.
  const envelope: RawEnvelope = { message, sourceId: JOURNEY_SOURCE_ID, trust: 'server', receivedAt: new Date(now).toISOString() };
  const key = String(message.userId ?? message.anonymousId);
  await putAllRecords(rawStream, [{ partitionKey: partitionKeyFor(key), data: Buffer.from(JSON.stringify(envelope)) }], { backoffMs });
}

/** Puts the action's message on `rawStream` (the raw stream of the deployment), retrying from `backoffMs`. */
export async function sendToPipeline(input: ActionInput, rawStream: string, backoffMs: number): Promise<ActionResult> {
  const message = pipelineMessage(input);
  if (!message) return { status: 'failed', reason: 'no_identifier' };
  await putOnRawStream(message, input.now, rawStream, backoffMs);
  return { status: 'sent', result: String(message.messageId) };
}
