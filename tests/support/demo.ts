/**
 * `cairn demo` as the tests run it: the history of a small shop sent to the running local stack
 * (sources, definitions, then the events), quietly, with no live traffic after it.
 */
import { type DemoOptions, runDemo } from '#cli/demo';

/** The local stack's default admin token (local/stack.ts): the demo's, and the console's sign-in. */
export const ADMIN_TOKEN = 'dev-admin-token';

export function loadDemo(o: Pick<DemoOptions, 'customers' | 'days' | 'seed' | 'port' | 'dataDir' | 'cwd'> & Partial<DemoOptions>): ReturnType<typeof runDemo> {
  return runDemo({
    liveRate: 0,
    live: false,
    adminToken: ADMIN_TOKEN,
    writeKey: 'dev-write-key',
    vars: {},
    stdout: () => undefined,
    stderr: () => undefined,
    progress: false,
    ...o,
  });
}
