/**
 * The house rules (.dependency-cruiser.cjs, docs/architecture.md) hold for the whole tree: no import
 * cycles, shared/ rooms in layers that point one way, shared/ below the entry points, the local twin,
 * the CLI and the CDK app, the AWS SDK only in adapters, callers through a room's index. The fixture
 * under tests/fixtures/architecture breaks each rule once, to show the check can fail.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const TREE = ['shared', 'functions', 'local', 'cli', 'infra', 'bench', 'bin', 'tests'];

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
