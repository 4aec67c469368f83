/**
 * The message and lake row types, their guards, and records for a stream. The adapters are imported
 * by name: stream.ts (Kinesis PutRecords) and kinesis-event.ts (Lambda events, reading a stream back).
 */
export * from './guard';
export * from './records';
export * from './types';
export * from './lake-rows';
