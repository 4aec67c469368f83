/**
 * λ normalize's core: validation and normalisation, phone numbers, the batch handler over its ports,
 * and when a dedup marker counts. The adapters are imported by name: dedup.ts (dedup table, lake
 * heads) and s3-lake.ts (lake writes).
 */
export * from './handler';
export * from './markers';
export * from './normalize';
export * from './phone';
