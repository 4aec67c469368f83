/**
 * Governance across journeys (docs/journeys.md#governance): the policy's caps, quiet hours and send
 * days. Pure: window.ts (when a message may go out), caps.ts (whether it fits the person's cap). The
 * shell's step before the action claim: gate.ts, over the send log port (sends.ts; DynamoDB in
 * dynamo-sends.ts, memory in memory-sends.ts, imported by their own paths).
 */
export { decideCap, slotsFor, type CapDecision, type Send } from './caps';
export { CAPPED_GLOBAL, cachedPolicy, capGate, type CapGate, type Governance } from './gate';
export { storedPolicy } from './load';
export { sendsKey, type ChannelSends, type SendLog } from './sends';
export { contextZone, deferUntil, governedChannel, isOpen, nextSendTime, openAt, personZone, type SendWindow, type ZoneSources } from './window';
