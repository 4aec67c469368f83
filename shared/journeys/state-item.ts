/**
 * How a person's journey state is stored in its item (`run#<journeyId>#<profileId>`, store.ts): the
 * PersonState without its version, as deflated JSON in `z` (first byte: the format). DynamoDB bills a
 * write per started KB of the item, and λ journey writes the state twice per transition (with its
 * pending effects, then without): a state with a run, its trigger event and its pending effects is
 * 0.9–1.4 KB of JSON, about half that deflated, so each write is 1 WCU instead of 2 (docs/cost.md).
 * Items written before hold the JSON in `data`, and are still read.
 */
import { deflatedJson } from '../deflated';
import type { PersonState } from './machine';

/** Preset dictionary of format 1: names and fragments every state repeats (never change it; add a format instead). */
const STATE = deflatedJson(
  1,
  '{"journeyId":"","profileId":"","entries":[{"runId":"","at":}],"triggers":[],"pending":[' +
    '{"type":"action","runId":"","stepId":"","version":1},{"type":"schedule","name":"","at":},{"type":"cancel"},' +
    '{"type":"outcome","action":"run","outcome":"entered","reason":null,"stepId":null},"waiting","elapsed","completed","exited","sent"],' +
    '"run":{"runId":"","status":"active","journeyVersion":1,"startedAt":,"endedAt":,"waiting":{"stepId":"","until":,"schedule":""},' +
    '"counters":{},"seen":[],"event":{"type":"track","event":"Order Completed","properties":{"order_id":"","total":,"currency":"USD"},' +
    '"messageId":"","timestamp":"2026-","receivedAt":"2026-","sentAt":"","userId":"","anonymousId":"","sourceId":"","context":{}}}}',
);

/** The `z` attribute of a state item. */
export function packState(body: Omit<PersonState, 'version'>): Buffer {
  return STATE.pack(body);
}

/** The state a journeys-table item holds, from `z` or (items written before it) `data`. */
export function stateOfItem(item: Record<string, unknown>): Omit<PersonState, 'version'> {
  const z = item.z;
  if (z instanceof Uint8Array) {
    return STATE.unpack<Omit<PersonState, 'version'>>(z, `journey state ${String(item.pk)}`);
  }
  return JSON.parse(String(item.data ?? '{}')) as Omit<PersonState, 'version'>;
}
