/** λ resolve's batch handler: decode, drop suppressed, resolve, wiring (docs/identity.md). */
export * from './handler';
