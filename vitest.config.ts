import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Fault proofs load the machine on purpose (a whole stack under load, killed and restarted):
    // they run on their own afterwards (vitest.faults.config.ts) so they cannot starve timing in others.
    exclude: ['tests/faults/**', 'node_modules/**'],
    testTimeout: 60_000,
    // Setup hooks synthesise the CDK app or start a whole local stack: CPU-bound work that two suites
    // sharing 2 cores (CI runs two at a time) can take minutes to finish. A bound, not a timing.
    hookTimeout: 180_000,
    // Integration tests start in-process emulators; two cores, so keep the fan-out small.
    maxWorkers: 2,
    pool: 'forks',
    // The SDK's Node 20 end-of-support notice is noise in test output (Lambda runs Node 22).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', CAIRN_LOG_LEVEL: 'warn' },
  },
});
