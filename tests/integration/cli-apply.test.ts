/**
 * `npx cairn apply <file|dir>` against the local stack: the examples apply verbatim (one line per
 * definition, dependency order), a second apply is all unchanged, an invalid set applies nothing and
 * names file, document and field, and files are checked together with what the stack runs.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const dir = mkdtempSync(join(tmpdir(), 'cairn-apply-'));
const stack = useLocalStack({ dataDir: join(dir, 'data'), env: JOURNEY_FUNCTION_ENV });

const apply = async (path: string, cwd?: string) => {
  const c = await stack.cli(['apply', path], { cwd });
  return {
    ...c,
    lines: c.out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/\s+/).slice(0, 3)),
  };
};
const list = async (area: string) => (await stack.admin<{ items: { id: string; version: number }[] }>('GET', `/v1/${area}`)).json.items;

describe('cairn apply', () => {
  it('refuses an invalid set with errors naming file, document and field, applying nothing', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'traits.yaml'), 'kind: computedTrait\nid: spend\nevent: Order Completed\naggregate: sum\nproperty: properties.total\n');
    writeFileSync(
      join(bad, 'segments.yaml'),
      '- kind: segment\n  id: big\n  where: { computed: spend, gte: 10 }\n- kind: segment\n  id: lapsed\n  where: { not: { event: Order Completed, within: 60x } }\n- kind: segment\n  id: loop\n  where: { segment: nope }\n',
    );
    const r = await apply(bad);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/segments\.yaml: document 1 \(id: lapsed\): where\.not\.within: "60x" is not a duration/);
    expect(r.out).toBe('');
    expect(await list('computed-traits')).toEqual([]);
    expect(await list('segments')).toEqual([]);
    // Set problems too (unknown segment), once the documents themselves are valid.
    writeFileSync(join(bad, 'segments.yaml'), '- kind: segment\n  id: loop\n  where: { segment: nope }\n');
    const r2 = await apply(bad);
    expect(r2.code).toBe(1);
    expect(r2.err).toMatch(/segments\.yaml: document 0 \(id: loop\): where\.segment: unknown segment "nope"/);
    expect(await list('computed-traits')).toEqual([]);
  });

  it('applies the examples verbatim in dependency order, then reports them unchanged', async () => {
    const r = await apply(EXAMPLES);
    expect(r.code, r.err).toBe(0);
    expect(r.lines).toEqual([
      ['created', 'policy', 'default'],
      ['created', 'computedTrait', 'lifetime_revenue'],
      ['created', 'computedTrait', 'orders_90d'],
      ['created', 'computedTrait', 'last_store'],
      ['created', 'segment', 'high-value'],
      ['created', 'segment', 'store-sh001-regulars'],
      ['created', 'segment', 'churn-risk'],
      ['created', 'journey', 'welcome-coupon'],
      ['created', 'journey', 'new-store-coupon'],
      ['created', 'journey', 'vip-welcome'],
      ['created', 'journey', 'regulars-thanks'],
    ]);
    const again = await apply(EXAMPLES);
    expect(again.code).toBe(0);
    expect(again.lines.map((l) => l[0])).toEqual(Array(11).fill('unchanged'));
    expect((await list('segments')).map((s) => s.version)).toEqual([1, 1, 1]);
  });

  it('checks a file together with what the stack runs: a segment may use a running computed trait', async () => {
    const f = join(dir, 'one.yaml');
    writeFileSync(f, 'kind: segment\nid: big-spenders\nwhere: { computed: lifetime_revenue, gte: 5000 }\n');
    const r = await apply('one.yaml', dir);
    expect(r.code, r.err).toBe(0);
    expect(r.lines).toEqual([['created', 'segment', 'big-spenders']]);
    writeFileSync(f, 'kind: segment\nid: big-spenders\nwhere: { computed: lifetime_revenue, gte: 6000 }\n');
    expect((await apply(f)).lines).toEqual([['updated', 'segment', 'big-spenders']]);
  });

  it('a missing path is a usage error', async () => {
    const r = await apply(join(dir, 'nope'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no such file/);
  });
});
