import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start in-process emulators; two cores, so keep the fan-out small.
    maxWorkers: 2,
    pool: 'forks',
  },
});
