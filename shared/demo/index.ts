/** The demo retailer's simulator (docs/demo.md): what callers outside shared/demo use. */
export { simulateHistory, interestingPeople, type DemoHistory } from './simulate';
export { LiveTraffic } from './live';
export type { DemoMessage } from './events';
export { DEMO_SOURCES, DEMO_STORES, NEW_STORE_OPENED_DAYS_AGO, rng, type DemoSourceKey, type Persona, type PersonaKind, type SimulateOptions } from './world';
