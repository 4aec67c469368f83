/**
 * Reading profiles, their lake rows, the daily snapshot over its ports. The adapters are imported by
 * name: s3-lake.ts (lake writes) and dynamo-snapshot.ts (the profiles scan, the snapshot's cursor).
 */
export * from './lake';
export * from './read';
export * from './snapshot';
