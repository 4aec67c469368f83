/**
 * EventBridge semantics Cairn relies on, as AWS records them (docs/eventbridge.md): event patterns
 * (`pattern.ts`, with `ip.ts` and `wildcard.ts`) and input transformers (`input.ts`). Pure: the local
 * bus and the journey rules compile against the same code.
 */
export * from './audience';
export * from './input';
export * from './pattern';
