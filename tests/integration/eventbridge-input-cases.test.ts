/**
 * Every case of tests/fixtures/eventbridge-input/cases.json (target input as AWS recorded it:
 * InputPath, InputTransformer templates, predefined variables, PutTargets refusals) run through the
 * local bus with the AWS SDK: one rule and one Lambda target per case on a custom bus, then the
 * fixture's event put once. A case passes only if its target received exactly the recorded JSON
 * (key order included), or PutTargets refused it with the recorded error code and message.
 *
 * Placeholders (`<event-id>`, `<event-time>`, …) are compared by role: the ids, names and region are
 * the run's own; times are bound on first sight, must be the same wherever they recur in a case and
 * fall within the PutEvents call. `111111111111` is the recording's account: locally 000000000000.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { startEventBridge, type LocalEventBridge } from '#local/eventbridge/server';
import { LOCAL_ACCOUNT } from '#local/eventbridge/state';

interface Case {
  name: string;
  target: { InputPath?: string; InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string } };
  expect: { json?: unknown; error?: string; message?: string };
}
interface Fixture {
  event: { Source: string; DetailType: string; Detail: unknown };
  placeholders: string;
  cases: Case[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/eventbridge-input/cases.json', import.meta.url), 'utf8')) as Fixture;
const { cases } = fixture;

const REGION = 'us-east-1';
const BUS = 'input-cases';
const RECORDED_ACCOUNT = '111111111111';
const ROLES = ['event-id', 'event-time', 'ingestion-time', 'region', 'bus-name', 'rule-name', 'target-id'] as const;
const ROLE = new RegExp(`<(${ROLES.join('|')})>`, 'g');

const ruleOf = (i: number) => `input-case-${i}`;
const targetOf = (i: number) => `target-${i}`;
const fnOf = (i: number) => `case-${i}`;
const fnArn = (name: string) => `arn:aws:lambda:${REGION}:${LOCAL_ACCOUNT}:function:${name}`;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The expected value with its placeholders filled: known roles from `known`, the others bound from
 * `actual` at the same place (first sight wins; a later mismatch shows up in the comparison).
 */
function resolve(exp: unknown, actual: unknown, known: Record<string, string>, bound: Map<string, string>): unknown {
  if (Array.isArray(exp)) return exp.map((x, i) => resolve(x, Array.isArray(actual) ? actual[i] : undefined, known, bound));
  if (exp && typeof exp === 'object') {
    const a = actual && typeof actual === 'object' ? (actual as Record<string, unknown>) : {};
    return Object.fromEntries(Object.entries(exp).map(([k, v]) => [k, resolve(v, a[k], known, bound)]));
  }
  if (typeof exp !== 'string') return exp;
  const fill = (s: string) => s.replace(ROLE, (m, r: string) => known[r] ?? bound.get(r) ?? m);
  const s = fill(exp.replaceAll(RECORDED_ACCOUNT, LOCAL_ACCOUNT));
  const open = [...s.matchAll(ROLE)];
  if (!open.length || typeof actual !== 'string') return s;
  let re = '^';
  let last = 0;
  for (const m of open) {
    re += `${escapeRe(s.slice(last, m.index))}(.+?)`;
    last = m.index! + m[0].length;
  }
  const hit = new RegExp(`${re}${escapeRe(s.slice(last))}$`, 's').exec(actual);
  if (hit)
    open.forEach((m, i) => {
      if (!bound.has(m[1]!)) bound.set(m[1]!, hit[i + 1]!);
    });
  return fill(s);
}

describe('target input: every AWS-recorded case of tests/fixtures/eventbridge-input reproduced by the local bus', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-eb-input-'));
  const received = new Map<string, unknown[]>();
  const refused = new Map<number, Error>();
  const targets = new Map<number, number>(); // targets on each case's rule after its PutTargets
  let eb: LocalEventBridge;
  let eventId = '';
  let window = { from: 0, to: 0 };

  beforeAll(async () => {
    eb = await startEventBridge({
      dataDir,
      region: REGION,
      invoke: async (fn, payload) => {
        received.set(fn, [...(received.get(fn) ?? []), payload]);
      },
      retry: { maxAttempts: 1 },
    });
    const sdk = new EventBridgeClient({
      endpoint: eb.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    await sdk.send(new CreateEventBusCommand({ Name: BUS }));
    const pattern = JSON.stringify({ source: [fixture.event.Source], 'detail-type': [fixture.event.DetailType] });
    for (const [i, c] of cases.entries()) {
      await sdk.send(new PutRuleCommand({ Name: ruleOf(i), EventBusName: BUS, EventPattern: pattern }));
      try {
        await sdk.send(new PutTargetsCommand({ Rule: ruleOf(i), EventBusName: BUS, Targets: [{ Id: targetOf(i), Arn: fnArn(fnOf(i)), ...c.target }] }));
      } catch (e) {
        refused.set(i, e as Error);
      }
      const listed = await sdk.send(new ListTargetsByRuleCommand({ Rule: ruleOf(i), EventBusName: BUS }));
      targets.set(i, listed.Targets?.length ?? 0);
    }
    window.from = Date.now();
    const put = await sdk.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: BUS, Source: fixture.event.Source, DetailType: fixture.event.DetailType, Detail: JSON.stringify(fixture.event.Detail) }],
      }),
    );
    window = { from: window.from, to: Date.now() };
    expect(put.FailedEntryCount).toBe(0);
    eventId = put.Entries![0]!.EventId!;
    expect(await eb.drain(10_000)).toBe(true);
    sdk.destroy();
  });
  afterAll(async () => eb?.close());

  it('reads a fixture whose every case has exactly one understood expectation and a unique name', () => {
    expect(cases.length).toBeGreaterThanOrEqual(11);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const c of cases) {
      const kinds = ['json' in c.expect, 'error' in c.expect].filter(Boolean).length;
      expect(kinds, `case "${c.name}" must expect either json or an error`).toBe(1);
      if ('error' in c.expect) expect(typeof c.expect.message, `case "${c.name}" names no message`).toBe('string');
      // Every placeholder in an expectation is a role this test knows how to compare.
      for (const [, name] of JSON.stringify(c.expect).matchAll(/<([^<>"]+)>/g))
        expect(ROLES, `case "${c.name}": unknown placeholder <${name}>`).toContain(name);
    }
  });

  it.each(cases.map((c, i) => [c.name, i] as const))('%s', (name, i) => {
    const c = cases[i]!;
    const known = { 'event-id': eventId, region: REGION, 'bus-name': BUS, 'rule-name': ruleOf(i), 'target-id': targetOf(i) };
    const got = received.get(fnOf(i)) ?? [];
    if ('error' in c.expect) {
      const err = refused.get(i);
      expect(err, `case "${name}": PutTargets accepted a target AWS refused`).toBeDefined();
      expect(err!.name).toBe(c.expect.error);
      expect(err!.message).toBe(resolve(c.expect.message, err!.message, known, new Map()));
      expect(targets.get(i), `case "${name}": a refused PutTargets must leave no target`).toBe(0);
      expect(got).toEqual([]);
      return;
    }
    if (!('json' in c.expect)) throw new Error(`case "${name}" has no expectation this test understands`);
    expect(refused.get(i)?.message, `case "${name}": PutTargets refused a target AWS accepted`).toBeUndefined();
    expect(got, `case "${name}": the target should receive the event exactly once`).toHaveLength(1);
    const bound = new Map<string, string>();
    const want = resolve(c.expect.json, got[0], known, bound);
    expect(got[0]).toEqual(want);
    expect(JSON.stringify(got[0]), `case "${name}": same JSON, key order included`).toBe(JSON.stringify(want));
    // Times: ISO 8601, within the PutEvents call; the event time to the second, as on AWS.
    const eventTime = bound.get('event-time');
    if (eventTime !== undefined) {
      expect(eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Date.parse(eventTime)).toBeGreaterThanOrEqual(Math.floor(window.from / 1000) * 1000);
      expect(Date.parse(eventTime)).toBeLessThanOrEqual(window.to);
    }
    const ingestion = bound.get('ingestion-time');
    if (ingestion !== undefined) {
      expect(new Date(Date.parse(ingestion)).toISOString()).toBe(ingestion);
      expect(Date.parse(ingestion)).toBeGreaterThanOrEqual(window.from);
      expect(Date.parse(ingestion)).toBeLessThanOrEqual(window.to);
    }
  });
});
