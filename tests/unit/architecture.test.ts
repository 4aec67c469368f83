/**
 * The house rules (.dependency-cruiser.cjs, docs/architecture.md) hold for the whole tree: no import
 * cycles, shared/ rooms in layers that point one way, shared/ below the entry points, the local twin,
 * the CLI and the CDK app, the AWS SDK only in adapters, callers through a room's index. The fixture
 * under tests/fixtures/architecture breaks each rule once, to show the check can fail.
 */
import { describe, expect, it } from 'vitest';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const TREE = ['shared', 'functions', 'local', 'cli', 'infra', 'bench', 'bin', 'tests'];

async function violations(roots: string[], baseDir?: string): Promise<IViolation[]> {
  const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
  const { output } = await cruise(roots, { ...options, ...(baseDir ? { baseDir } : {}) }, undefined, { tsConfig: extractTSConfig('tsconfig.json') });
  return (output as ICruiseResult).summary.violations;
}

const line = (v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle?.length ? ` (cycle: ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`;

describe('architecture', () => {
  it('the tree keeps every house rule', async () => {
    const found = await violations(TREE);
    expect(found.map(line), 'fix the import, or change the rule in .dependency-cruiser.cjs and docs/architecture.md together').toEqual([]);
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
