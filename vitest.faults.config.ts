import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/** The fault proofs (tests/faults), run alone after the main suite: `npm test` runs both. */
export default defineConfig({
  test: { ...base.test, include: ['tests/faults/**/*.test.ts'], exclude: ['node_modules/**'], maxWorkers: 1 },
});
