/**
 * Every function's entry bundles the way NodejsFunction bundles it on `cdk deploy` (esbuild, ESM,
 * node22, the AWS SDK inside): the synth tests skip bundling for speed, so without this a
 * `#shared/…` import esbuild cannot resolve, or a dependency that does not bundle, would first fail
 * at deploy time.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '#shared/config/resources';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('function bundles', () => {
  it('each function entry bundles with esbuild as NodejsFunction runs it, exporting handler', async () => {
    const entries = Object.values(FUNCTIONS).map((f) => f.entry);
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: entries,
      outdir: 'out',
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const outputs = Object.values(result.metafile.outputs).filter((o) => o.entryPoint);
    expect(outputs.map((o) => o.entryPoint).sort()).toEqual([...entries].sort());
    for (const o of outputs) expect(o.exports, o.entryPoint).toContain('handler');
  }, 120_000);
});
