/**
 * The house rules (.dependency-cruiser.cjs, docs/architecture.md) hold for the whole tree: no import
 * cycles, shared/ rooms in layers that point one way, shared/ below the entry points, the local twin,
 * the CLI and the CDK app, the AWS SDK only in adapters, callers through a room's index. The fixture
 * under tests/fixtures/architecture breaks each rule once, to show the check can fail. And the
 * environment is read in functions/: shared/ reads it only in the files ENV_READERS names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const TREE = ['shared', 'functions', 'local', 'cli', 'infra', 'bench', 'bin', 'tests', 'console'];

async function cruised(roots: string[], baseDir?: string): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
  const { output } = await cruise(roots, { ...options, ...(baseDir ? { baseDir } : {}) }, undefined, { tsConfig: extractTSConfig('tsconfig.json') });
  return output as ICruiseResult;
}

const violations = async (roots: string[], baseDir?: string): Promise<IViolation[]> => (await cruised(roots, baseDir)).summary.violations;

const top = (path: string) => path.split('/')[0];

/** Imports written as `../` paths that land in another top-level folder: those use `#shared/…` (package.json#imports). */
const relativeAcrossFolders = (result: ICruiseResult): string[] =>
  result.modules.flatMap((m) =>
    m.dependencies
      .filter((d) => d.module.startsWith('.') && d.resolved.includes('/') && top(d.resolved) !== top(m.source))
      .map((d) => `${m.source} → '${d.module}'`),
  );

const line = (v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle?.length ? ` (cycle: ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`;

/** The whole tree, cruised once for the tests that read it. */
let tree: Promise<ICruiseResult> | undefined;
const wholeTree = () => (tree ??= cruised(TREE));

describe('architecture', () => {
  it('the tree keeps every house rule', async () => {
    const found = (await wholeTree()).summary.violations;
    expect(found.map(line), 'fix the import, or change the rule in .dependency-cruiser.cjs and docs/architecture.md together').toEqual([]);
  });

  it('imports between top-level folders use the #aliases, not ../ paths (package.json#imports and tsconfig paths agree)', async () => {
    expect(relativeAcrossFolders(await wholeTree()), "write '#shared/…' (see docs/architecture.md)").toEqual([]);
    expect(relativeAcrossFolders(await cruised(['shared'], 'tests/fixtures/architecture'))).toEqual(["shared/normalize/stage.ts → '../../local/stack'"]);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { imports: Record<string, string> };
    const ts = JSON.parse(readFileSync('tsconfig.json', 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };
    expect(Object.fromEntries(Object.entries(ts.compilerOptions.paths).map(([k, [v]]) => [k, v]))).toEqual(pkg.imports);
  });

  it('the rules catch a cycle, an upward import, shared/ importing local/, the SDK outside an adapter and a reach past an index', async () => {
    const found = await violations(['shared'], 'tests/fixtures/architecture');
    const by = (rule: string) => found.filter((v) => v.rule.name === rule).map((v) => `${v.from} → ${v.to}`);
    expect(by('no-circular')).toContainEqual(expect.stringMatching(/^shared\/(identity\/person|privacy\/erasure)\.ts → /));
    expect(by('layer-identity')).toEqual(['shared/identity/person.ts → shared/privacy/erasure.ts']);
    expect(by('shared-stays-inside')).toEqual(['shared/normalize/stage.ts → local/stack.ts']);
    expect(by('aws-sdk-in-adapters')).toEqual(['shared/segments/audience.ts → @aws-sdk/client-s3']);
    expect(by('index-lake')).toEqual(['shared/segments/audience.ts → shared/lake/dates.ts']);
    // What obeys the rules is not reported: privacy may import identity, segments may import the lake's index.
    expect(found.filter((v) => v.rule.name.startsWith('layer-')).map((v) => v.from)).toEqual(['shared/identity/person.ts']);
  });
});

/**
 * The files of shared/ that may read the environment, each for its reason (docs/architecture.md,
 * "The environment is read in functions/"). Anything else in shared/ takes values from its caller.
 */
const ENV_READERS: Record<string, string> = {
  'shared/aws/clients.ts': 'emulator endpoints, region, retry attempts, the call recorder and the fault injector: every client in every process',
  'shared/aws/emulators.ts': 'the region of an emulator client',
  'shared/aws/env.ts': 'requireEnv, which functions/ call',
  'shared/log.ts': 'the log level, in every process',
  'shared/metrics.ts': 'on Lambda or not, stdout EMF locally',
  'shared/config/resources.ts': "timelineDays() and localEnvDefaults: the declarations' own readers",
  'shared/identity/testing/sim.ts': 'test support: quiets the log for simulations',
};

/**
 * Env readers still to move into functions/, allowed until they go (empty now: privacy, journeys,
 * segments and scores left with issue 17). The check fails for a file here that no longer reads the
 * environment, so the list only shrinks.
 */
const PENDING: readonly string[] = [];

const READS_ENV = /\bprocess\s*(?:\.\s*env\b|\[\s*['"`]env['"`]\s*\])/;

/** What breaks the rule among (path, text) pairs of shared/: an env reader not allowed, a pending file that reads nothing. */
function envReaderFindings(files: Iterable<[path: string, text: string]>, allowed: Iterable<string>, pending: readonly string[]): string[] {
  const ok = new Set(allowed);
  const out: string[] = [];
  const pendingLeft = new Set(pending);
  for (const [path, text] of files) {
    const reads = READS_ENV.test(text);
    if (pendingLeft.delete(path)) {
      if (!reads) out.push(`${path} no longer reads the environment: take it off PENDING`);
    } else if (reads && !ok.has(path)) out.push(`${path} reads process.env: take the value as a parameter, read in functions/`);
  }
  for (const path of pendingLeft) out.push(`${path} is PENDING but not in shared/: take it off PENDING`);
  return out;
}

const sharedSources = (): [string, string][] =>
  readdirSync('shared', { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|js|cjs|mjs)$/.test(f))
    .map((f) => `shared/${f.split('\\').join('/')}`)
    .sort()
    .map((path) => [path, readFileSync(path, 'utf8')]);

describe('the environment is read in functions/', () => {
  it('shared/ reads process.env only in the files ENV_READERS allows (and those still PENDING)', () => {
    expect(envReaderFindings(sharedSources(), Object.keys(ENV_READERS), PENDING), 'see docs/architecture.md').toEqual([]);
  });

  it('the check catches a new reader, and a PENDING file that reads nothing any more', () => {
    const files: [string, string][] = [
      ['shared/log.ts', 'const level = process.env.CAIRN_LOG_LEVEL;'],
      ['shared/normalize/phone.ts', "const c = process.env['CAIRN_DEFAULT_COUNTRY'];"],
      ['shared/import/s3.ts', 'const rate = process [ "env" ].CAIRN_IMPORT_RATE;'],
      ['shared/segments/runtime.ts', 'export const ttl = (ms: number) => ms;'],
      ['shared/journeys/rules.ts', 'const bus = process.env.CAIRN_EVENT_BUS;'],
      ['shared/lake/index.ts', 'export const env = { process: 1 };'],
    ];
    expect(envReaderFindings(files, ['shared/log.ts'], ['shared/segments/runtime.ts', 'shared/journeys/rules.ts', 'shared/gone.ts'])).toEqual([
      'shared/normalize/phone.ts reads process.env: take the value as a parameter, read in functions/',
      'shared/import/s3.ts reads process.env: take the value as a parameter, read in functions/',
      'shared/segments/runtime.ts no longer reads the environment: take it off PENDING',
      'shared/gone.ts is PENDING but not in shared/: take it off PENDING',
    ]);
  });
});
