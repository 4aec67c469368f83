/**
 * The person: identifiers, the profile record and its views, resolution, the lake index, the bus
 * events, the in-memory store. The adapters are imported by name: dynamo-store.ts (DynamoDB) and
 * bus.ts (EventBridge), so a caller of the pure core does not load the SDK; testing/ is test support.
 */
export * from './config';
export * from './events';
export * from './identifiers';
export * from './lake-index';
export * from './memory-store';
export * from './process';
export * from './profile';
export * from './resolve';
export { timelineDataOf, type TimelineData } from './timeline-item';
export * from './trust';
export * from './types';
export * from './view';
export * from './unmerge';
