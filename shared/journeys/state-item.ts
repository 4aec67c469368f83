/**
 * How a person's journey state is stored in its item (`run#<journeyId>#<profileId>`, store.ts): the
 * PersonState without its version, as deflated JSON in `z` (first byte: the format). DynamoDB bills a
 * write per started KB of the item, and λ journey writes the state twice per transition (with its
 * pending effects, then without): a state with a run, its trigger event and its pending effects is
 * 0.9–1.4 KB of JSON, about half that deflated, so each write is 1 WCU instead of 2 (docs/cost.md).
 * Items written before hold the JSON in `data`, and are still read.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { PersonState } from './machine';

const FORMAT = 1;
/** Preset dictionary of format 1: names and fragments every state repeats (never change it; add a format instead). */
const DICTIONARY = Buffer.from(
  '{"journeyId":"","profileId":"","entries":[{"runId":"","at":}],"triggers":[],"pending":[' +
    '{"type":"action","runId":"","stepId":"","version":1},{"type":"schedule","name":"","at":},{"type":"cancel"},' +
    '{"type":"outcome","action":"run","outcome":"entered","reason":null,"stepId":null},"waiting","elapsed","completed","exited","sent"],' +
    '"run":{"runId":"","status":"active","journeyVersion":1,"startedAt":,"endedAt":,"waiting":{"stepId":"","until":,"schedule":""},' +
    '"counters":{},"seen":[],"event":{"type":"track","event":"Order Completed","properties":{"order_id":"","total":,"currency":"USD"},' +
    '"messageId":"","timestamp":"2026-","receivedAt":"2026-","sentAt":"","userId":"","anonymousId":"","sourceId":"","context":{}}}}',
);
/** A 4 KB window and small state (a state is about a KB): little CPU per call, the same size. */
const Z = { dictionary: DICTIONARY, windowBits: 12, memLevel: 5 };

/** The `z` attribute of a state item. */
export function packState(body: Omit<PersonState, 'version'>): Buffer {
  return Buffer.concat([Buffer.of(FORMAT), deflateRawSync(JSON.stringify(body), Z)]);
}

/** The state a journeys-table item holds, from `z` or (items written before it) `data`. */
export function stateOfItem(item: Record<string, unknown>): Omit<PersonState, 'version'> {
  const z = item.z;
  if (z instanceof Uint8Array) {
    if (z[0] !== FORMAT) throw new Error(`journey state ${String(item.pk)}: unknown item format ${z[0]}`);
    return JSON.parse(inflateRawSync(z.subarray(1), Z).toString('utf8')) as Omit<PersonState, 'version'>;
  }
  return JSON.parse(String(item.data ?? '{}')) as Omit<PersonState, 'version'>;
}
