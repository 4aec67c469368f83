/**
 * The console's journey page without a browser (docs/console.md#journeys): the drawing laid out from
 * every example journey (console/src/journeys/layout.ts) — one card per step, branches side by side,
 * exits to the end, the stats' counts on the right cards — and the YAML checked in the browser
 * (console/src/journeys/validate.ts) saying what the admin API's PUT says, at the right line.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { journeyFlow, NODE_H, NODE_W } from '#console/src/journeys/layout';
import { checkJourneyYaml, runningSet, toYaml } from '#console/src/journeys/validate';
import { lineDiff } from '#console/src/journeys/lines';
import { validatePut } from '#shared/admin/definitions';
import { loadDefinitions, validateDefinition, walkSteps, type Definition, type JourneyDef } from '#shared/definitions';

const EXAMPLES = ['examples/computed-traits.yaml', 'examples/segments.yaml', 'examples/journeys.yaml', 'examples/coupons.yaml'];
const defs: Definition[] = loadDefinitions(EXAMPLES.map((file) => ({ file, text: readFileSync(file, 'utf8') })));
const journeys = defs.filter((d): d is JourneyDef => d.kind === 'journey');

describe('the journey drawing', () => {
  it('draws every step of every example journey once, between its trigger and its end, without overlaps', () => {
    expect(journeys.length).toBeGreaterThanOrEqual(3);
    for (const j of journeys) {
      const { nodes, edges } = journeyFlow(j);
      const steps = walkSteps(j.steps).map(({ step }) => `step:${step.id}`);
      expect(nodes.map((n) => n.id).sort(), j.id).toEqual(['end', 'trigger', ...steps].sort());
      expect(nodes.find((n) => n.id === 'trigger')!.detail).toEqual(j.trigger.type === 'event' ? j.trigger.event : expect.stringContaining(j.trigger.segment));
      // Every edge joins two drawn cards; every card but the trigger is reached; every card but the end leads on.
      const ids = new Set(nodes.map((n) => n.id));
      for (const e of edges) expect(ids.has(e.source) && ids.has(e.target), `${j.id} ${e.source}→${e.target}`).toBe(true);
      for (const n of nodes) {
        if (n.id !== 'trigger')
          expect(
            edges.some((e) => e.target === n.id),
            `${j.id}: nothing leads to ${n.id}`,
          ).toBe(true);
        if (n.id !== 'end')
          expect(
            edges.some((e) => e.source === n.id),
            `${j.id}: ${n.id} leads nowhere`,
          ).toBe(true);
      }
      // Cards never overlap.
      for (const a of nodes)
        for (const b of nodes)
          if (a !== b) expect(Math.abs(a.x - b.x) >= NODE_W || Math.abs(a.y - b.y) >= NODE_H, `${j.id}: ${a.id} overlaps ${b.id}`).toBe(true);
    }
  });

  it('draws a branch as two ways, then on the left and else on the right, that join again below it', () => {
    const j = validateDefinition(
      {
        kind: 'journey',
        id: 'two-ways',
        trigger: { event: 'Signed Up' },
        consent: 'none',
        steps: [
          {
            id: 'check',
            if: { trait: 'plan', eq: 'pro' },
            then: [{ id: 'pro', action: 'traits', set: { tier: 'pro' } }],
            else: [{ id: 'free', action: 'traits', set: { tier: 'free' } }, { exit: true }],
          },
          { id: 'after', action: 'event', name: 'Welcomed' },
        ],
      },
      { file: 'test', index: 0 },
    ) as JourneyDef;
    const { nodes, edges } = journeyFlow(j);
    const at = (id: string) => nodes.find((n) => n.id === id)!;
    expect(edges).toContainEqual(expect.objectContaining({ source: 'step:check', target: 'step:pro', label: 'then' }));
    expect(edges).toContainEqual(expect.objectContaining({ source: 'step:check', target: 'step:free', label: 'else' }));
    expect(at('step:pro').x).toBeLessThan(at('step:free').x);
    expect(at('step:pro').y).toBeGreaterThan(at('step:check').y);
    // `then` goes on to the next step; `else` exits, straight to the end.
    expect(edges).toContainEqual(expect.objectContaining({ source: 'step:pro', target: 'step:after' }));
    const exit = nodes.find((n) => n.kind === 'exit')!;
    expect(edges).toContainEqual(expect.objectContaining({ source: 'step:free', target: exit.id }));
    expect(edges).toContainEqual(expect.objectContaining({ source: exit.id, target: 'end' }));
    expect(edges.some((e) => e.source === exit.id && e.target === 'step:after')).toBe(false);
    expect(at('step:after').y).toBeGreaterThan(Math.max(at('step:pro').y, exit.y));
  });

  it("puts the stats' counts on the cards they belong to", () => {
    const coupon = journeys.find((j) => j.id === 'welcome-coupon')!;
    const { nodes } = journeyFlow(coupon, {
      entered: 40,
      held_out: 4,
      completed: 20,
      exited: 9,
      steps: { gift: { type: 'coupon', sent: 35, failed: 0, skipped: 1, redeemed: 12 }, mail: { type: 'email', sent: 34, failed: 1, skipped: 0 } },
    });
    const counts = (id: string) => Object.fromEntries(nodes.find((n) => n.id === id)!.counts.map((c) => [c.key, c.value]));
    expect(counts('trigger')).toEqual({ entered: 40, held_out: 4 });
    expect(counts('step:gift')).toEqual({ issued: 35, failed: 0, skipped: 1, redeemed: 12 });
    expect(counts('step:mail')).toEqual({ sent: 34, failed: 1, skipped: 0 });
    expect(counts('step:pause')).toEqual({});
    expect(counts('end')).toEqual({ completed: 20, exited: 9 });
    // No stats yet: every count is there, at 0.
    expect(
      journeyFlow(coupon)
        .nodes.find((n) => n.id === 'step:mail')!
        .counts.map((c) => c.value),
    ).toEqual([0, 0, 0]);
  });
});

describe('the YAML checked in the browser says what the API says', () => {
  const running = runningSet(defs.map((d) => ({ kind: d.kind, id: d.id, definition: d.source })));
  const journey = journeys.find((j) => j.id === 'new-store-coupon')!;
  const yaml = toYaml(journey.source);
  /** The API's answer to a PUT of `text` (YAML, as the console sends it): null when accepted, else its message. */
  const api = (text: string): string | null => {
    try {
      validatePut('journey', journey.id, parseYaml(text), defs, 'request body');
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('accepts the stored document as the API does', () => {
    expect(checkJourneyYaml(yaml, journey.id, running)).toEqual({ def: expect.objectContaining({ id: journey.id }), problems: [] });
    expect(api(yaml)).toBeNull();
  });

  const edits: [string, (y: string) => string, RegExp][] = [
    ['a wait that is not a duration', (y) => y.replace('wait: 3d', 'wait: soon'), /steps\[1\]\.wait/],
    ['a step id used twice', (y) => y.replace('id: pause', 'id: coupon'), /duplicate step id "coupon"/],
    ['an unknown action', (y) => y.replace('action: sms', 'action: fax'), /steps\[2\]\.then\[0\]\.action/],
    ['an audience segment that does not exist', (y) => y.replace('consent: email', 'audience:\n  segment: no-such-segment\nconsent: email'), /no-such-segment/],
    ['another id than the journey’s', (y) => y.replace('id: new-store-coupon', 'id: other'), /does not match/],
  ];
  for (const [what, edit, where] of edits) {
    it(`refuses ${what}, as the API does, naming the field`, () => {
      const text = edit(yaml);
      expect(text).not.toBe(yaml);
      const r = checkJourneyYaml(text, journey.id, running);
      expect(r.problems.length, JSON.stringify(r.problems)).toBeGreaterThan(0);
      const said = api(text);
      expect(said).not.toBeNull();
      for (const p of r.problems) expect(said, `${p.field}: ${p.message}`).toContain(p.message);
      expect(r.problems.map((p) => `${p.field}: ${p.message}`).join('\n')).toMatch(where);
    });
  }

  it('points at the line it is about', () => {
    const text = yaml.replace('wait: 3d', 'wait: soon');
    const [p] = checkJourneyYaml(text, journey.id, running).problems;
    const line = text.split('\n').findIndex((l) => l.includes('wait: soon')) + 1;
    expect(p!.line).toBe(line);
    expect(text.slice(p!.from, p!.to)).toBe('soon');
    // Broken YAML: the parser's own message, at its line.
    const broken = checkJourneyYaml(`${yaml}\n  - [unclosed`, journey.id, running).problems;
    expect(broken).toHaveLength(1);
    expect(broken[0]!.message).toMatch(/not valid YAML/);
  });
});

describe('versions side by side', () => {
  it('marks the lines each side has alone', () => {
    expect(lineDiff(['a', 'b', 'c'], ['a', 'c', 'd'])).toEqual({ left: ['same', 'removed', 'same'], right: ['same', 'same', 'added'] });
    expect(lineDiff([], ['x'])).toEqual({ left: [], right: ['added'] });
  });
});
