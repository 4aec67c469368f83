/**
 * λ collect's core: write keys, parsing, the spec checks, browser paths and the request handler over
 * its ports. The sources table's adapter is imported by name (sources.ts).
 */
export * from './auth';
export * from './browser';
export * from './handler';
export * from './limits';
export * from './parse';
export * from './validate';
