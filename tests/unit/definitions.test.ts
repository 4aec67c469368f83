import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CairnError } from '#shared/errors';
import {
  checkSet,
  compileTrigger,
  findStep,
  inHoldout,
  loadDefinitions,
  parseDefinitions,
  parseDuration,
  stepIds,
  validateDefinition,
  validateSet,
  type ComputedTraitDef,
  type Definition,
  type JourneyDef,
  type SegmentDef,
} from '#shared/definitions';

const example = (f: string) => readFileSync(new URL(`../../examples/${f}`, import.meta.url), 'utf8');
const EXAMPLES = ['computed-traits.yaml', 'segments.yaml', 'journeys.yaml'];

/** The error a thunk throws; fails the test if it does not throw a CairnError. */
function errorOf(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CairnError);
    return e as CairnError;
  }
  throw new Error('expected an error');
}

function byId<K extends Definition['kind']>(defs: Definition[], kind: K, id: string): Extract<Definition, { kind: K }> {
  const d = defs.find((x) => x.kind === kind && x.id === id);
  if (!d) throw new Error(`no ${kind} ${id}`);
  return d as Extract<Definition, { kind: K }>;
}

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['3d', 259_200_000],
    ['2w', 1_209_600_000],
    ['1h30m', 5_400_000],
  ])('%s = %d ms', (t, ms) => expect(parseDuration(t)).toBe(ms));
  it.each(['60x', '3 days', '0d', '', 'd', '1.5h', '3m1h', '-1d', '4000d', '1d1d'])('rejects %j', (t) => expect(parseDuration(t)).toBeNull());
});

describe('the example documents', () => {
  const files = EXAMPLES.map((file) => ({ file, text: example(file) }));
  const defs = loadDefinitions(files);

  it('are accepted verbatim, each file alone and together as one set', () => {
    for (const f of files) expect(parseDefinitions(f.text, f.file).length).toBeGreaterThan(0);
    expect(defs.map((d) => `${d.kind}:${d.id}`)).toEqual([
      'computedTrait:lifetime_revenue',
      'computedTrait:orders_90d',
      'computedTrait:last_store',
      'segment:high-value',
      'segment:store-sh001-regulars',
      'segment:churn-risk',
      'journey:new-store-coupon',
      'journey:vip-welcome',
      'journey:regulars-thanks',
    ]);
    expect(checkSet(defs)).toEqual([]);
  });

  it('computed traits mean what their comments say', () => {
    const rev = byId(defs, 'computedTrait', 'lifetime_revenue');
    expect(rev).toMatchObject({ event: 'Order Completed', aggregate: 'sum', property: 'properties.total', where: [] });
    expect(rev.windowMs).toBeUndefined(); // all time
    const o90 = byId(defs, 'computedTrait', 'orders_90d');
    expect(o90).toMatchObject({ aggregate: 'count', window: '90d', windowMs: 90 * 86_400_000 });
    expect(o90.property).toBeUndefined();
    expect(byId(defs, 'computedTrait', 'last_store')).toMatchObject({ aggregate: 'last', property: 'properties.store_id' });
  });

  it('segments mean what their comments say', () => {
    expect(byId(defs, 'segment', 'high-value').where).toEqual({
      type: 'all',
      of: [
        { type: 'computed', id: 'lifetime_revenue', tests: [{ op: 'gte', value: 1000 }] },
        { type: 'consent', channel: 'email' },
      ],
    });
    expect(byId(defs, 'segment', 'store-sh001-regulars').where).toMatchObject({
      type: 'event',
      event: 'Order Completed',
      count: [{ op: 'gte', value: 2 }],
      withinMs: 30 * 86_400_000,
      where: [{ path: 'properties.store_id', tests: [{ op: 'eq', value: 'SH-001' }] }],
    });
    const churn = byId(defs, 'segment', 'churn-risk').where;
    expect(churn).toMatchObject({
      type: 'all',
      of: [
        { type: 'computed', id: 'lifetime_revenue', tests: [{ op: 'gt', value: 0 }] },
        { type: 'not', of: { type: 'event', event: 'Order Completed', withinMs: 60 * 86_400_000, count: [{ op: 'gte', value: 1 }] } },
      ],
    });
  });

  it('new-store-coupon: trigger, consent, cap, exit and steps', () => {
    const j = byId(defs, 'journey', 'new-store-coupon');
    expect(j.trigger).toEqual({
      type: 'event',
      event: 'Order Completed',
      where: [
        { path: 'properties.store_id', tests: [{ op: 'eq', value: 'SH-001' }] },
        { path: 'properties.total', tests: [{ op: 'gte', value: 500 }] },
      ],
    });
    expect(j.consent).toBe('email');
    expect(j.frequency).toEqual({ max: 1, per: '30d', perMs: 30 * 86_400_000 });
    expect(j.exit).toEqual({ type: 'event', event: 'Coupon Redeemed', where: [] });
    expect(j.holdout).toBe(0);
    expect(stepIds(j)).toEqual(['coupon', 'pause', 'remind', 'remind.then-1']);
    expect(findStep(j, 'coupon')).toMatchObject({ type: 'action', action: 'email', subject: 'A gift for you, {{ traits.firstName }}' });
    expect(findStep(j, 'pause')).toMatchObject({ type: 'wait', ms: 3 * 86_400_000 });
    expect(findStep(j, 'remind')).toMatchObject({
      type: 'branch',
      if: { type: 'not', of: { type: 'event', event: 'Coupon Redeemed', since: 'journey.start' } },
      else: [],
    });
    expect(findStep(j, 'remind.then-1')).toMatchObject({ type: 'action', action: 'sms', declaredId: false });
  });

  it('vip-welcome: segment trigger and derived step ids', () => {
    const j = byId(defs, 'journey', 'vip-welcome');
    expect(j.trigger).toEqual({ type: 'segment', segment: 'high-value', on: 'entered' });
    expect(compileTrigger(j)).toEqual({ source: ['cairn'], 'detail-type': ['segment.entered'], detail: { segment: ['high-value'] } });
    expect(j.steps.map((s) => [s.id, s.type === 'action' ? s.action : s.type])).toEqual([
      ['step-1', 'email'],
      ['step-2', 'traits'],
      ['step-3', 'webhook'],
    ]);
    expect(j.steps[1]).toMatchObject({ set: { vip: true } });
    expect(j.steps[2]).toMatchObject({ url: 'https://crm.example.com/hooks/vip', method: 'POST', body: { email: '{{ traits.email }}', tier: 'vip' } });
    // The CRM's address comes from CAIRN_CRM_WEBHOOK_URL when the applying process has it.
    const local = loadDefinitions(files, { vars: { CAIRN_CRM_WEBHOOK_URL: 'http://127.0.0.1:9999/hooks/vip' } });
    expect(byId(local, 'journey', 'vip-welcome').steps[2]).toMatchObject({ url: 'http://127.0.0.1:9999/hooks/vip' });
    expect(byId(local, 'journey', 'vip-welcome').source.steps).toContainEqual(expect.objectContaining({ url: 'http://127.0.0.1:9999/hooks/vip' }));
  });

  it('regulars-thanks: an SMS to regulars of the new store who have a phone and SMS consent', () => {
    const j = byId(defs, 'journey', 'regulars-thanks');
    expect(j.trigger).toEqual({ type: 'segment', segment: 'store-sh001-regulars', on: 'entered' });
    expect(j.audience).toEqual({ type: 'identifier', idType: 'phone', tests: [] });
    expect(j.consent).toBe('sms');
    expect(j.frequency).toEqual({ max: 1, per: '90d', perMs: 90 * 86_400_000 });
    expect(stepIds(j)).toEqual(['thanks']);
    expect(findStep(j, 'thanks')).toMatchObject({ type: 'action', action: 'sms' });
  });

  it('keep the document as written in source, and JSON input means the same as YAML', () => {
    const seg = byId(defs, 'segment', 'churn-risk');
    expect(seg.source.id).toBe('churn-risk');
    const fromJson = parseDefinitions(JSON.stringify(defs.map((d) => d.source)), 'all.json');
    expect(fromJson.map(({ origin: _o, ...d }) => d)).toEqual(defs.map(({ origin: _o, ...d }) => d));
  });
});

describe('apply-time variables', () => {
  const doc = (url: string, extra = '') => `kind: journey\nid: j\ntrigger: { event: X }\nsteps:\n  - action: webhook\n    url: "${url}"\n${extra}`;
  const url = (text: string, vars?: Record<string, string | undefined>) => (parseDefinitions(text, 'j.yaml', { vars })[0] as JourneyDef).source.steps;

  it('take the value from the variables, else the default; an empty value counts as unset', () => {
    const d = doc('${CAIRN_HOOK:-https://a.example.com/x}/y');
    expect(url(d)).toEqual([{ action: 'webhook', url: 'https://a.example.com/x/y' }]);
    expect(url(d, { CAIRN_HOOK: 'http://127.0.0.1:1' })).toEqual([{ action: 'webhook', url: 'http://127.0.0.1:1/y' }]);
    expect(url(d, { CAIRN_HOOK: '' })).toEqual([{ action: 'webhook', url: 'https://a.example.com/x/y' }]);
  });

  it('only in string values, never as YAML: a value cannot add fields', () => {
    const steps = url(doc('${CAIRN_HOOK}', '    body: { a: "${CAIRN_HOOK}", n: 1 }\n'), { CAIRN_HOOK: 'https://x.example.com/h"\n    method: GET' });
    expect(steps).toEqual([
      { action: 'webhook', url: 'https://x.example.com/h"\n    method: GET', body: { a: 'https://x.example.com/h"\n    method: GET', n: 1 } },
    ]);
  });

  it('other ${…} text is kept, and $${ is a literal ${', () => {
    const text =
      'kind: journey\nid: j\nconsent: none\ntrigger: { event: X }\nsteps:\n  - action: email\n    subject: "${price} $${CAIRN_X} ${HOME}"\n    body: b\n';
    expect((parseDefinitions(text, 'j.yaml', { vars: { CAIRN_X: 'no', HOME: 'no' } })[0] as JourneyDef).source.steps).toEqual([
      { action: 'email', subject: '${price} ${CAIRN_X} ${HOME}', body: 'b' },
    ]);
  });

  it('an unset variable without a default, or a credential, is an error naming the field', () => {
    const e = errorOf(() =>
      parseDefinitions(
        doc(
          '${CAIRN_NOPE}',
          '  - action: webhook\n    url: "https://x.example.com/${CAIRN_ADMIN_TOKEN}"\n  - action: webhook\n    url: "https://x.example.com/${CAIRN_API_KEY:-k}"\n',
        ),
        'j.yaml',
        { vars: { CAIRN_ADMIN_TOKEN: 't', CAIRN_API_KEY: 'k' } },
      ),
    );
    expect(e.code).toBe('invalid_definition');
    expect(e.details?.errors).toEqual([
      'j.yaml: document 0 (id: j): steps[0].url: ${CAIRN_NOPE} is not set: set CAIRN_NOPE in the environment of npx cairn apply, or give a default: ${CAIRN_NOPE:-value}',
      'j.yaml: document 0 (id: j): steps[1].url: ${CAIRN_ADMIN_TOKEN}: looks like a credential; variables cannot read secrets, tokens or keys',
      'j.yaml: document 0 (id: j): steps[2].url: ${CAIRN_API_KEY}: looks like a credential; variables cannot read secrets, tokens or keys',
    ]);
  });

  it('a document sent as it is (admin API) keeps the variable, and the URL error says why', () => {
    const e = errorOf(() =>
      validateDefinition(
        { kind: 'journey', id: 'j', trigger: { event: 'X' }, steps: [{ action: 'webhook', url: '${CAIRN_HOOK:-https://a.example.com}' }] },
        { file: 'PUT /v1/journeys/j', index: 0 },
      ),
    );
    expect(e.message).toMatch(/steps\[0\]\.url: .* is not a webhook URL: its variable is resolved when a file is read \(npx cairn apply\), never by the stack/);
  });
});

describe('file shapes', () => {
  it('a single document, a list, a multi-document stream, an empty file', () => {
    const one = 'kind: segment\nid: a\nwhere: { consent: email }\n';
    expect(parseDefinitions(one, 'a.yaml')).toHaveLength(1);
    expect(parseDefinitions(`- ${one.trim().split('\n').join('\n  ')}\n`, 'a.yaml')).toHaveLength(1);
    expect(parseDefinitions(`${one}---\n${one.replace('id: a', 'id: b')}`, 'a.yaml').map((d) => d.id)).toEqual(['a', 'b']);
    expect(parseDefinitions('', 'empty.yaml')).toEqual([]);
  });

  it('a syntax error names the file and line', () => {
    const e = errorOf(() => parseDefinitions('- kind: segment\n  id: [unclosed\n', 'bad.yaml'));
    expect(e.code).toBe('invalid_definition');
    expect(e.message).toMatch(/^bad\.yaml: not valid YAML\/JSON: .*line \d/);
  });
});

describe('invalid documents are rejected with the file, document and field', () => {
  const seg = (where: string) => `- kind: segment\n  id: ok\n  where: { consent: email }\n- kind: segment\n  id: s1\n  where: ${where}\n`;
  const cases: [string, string, string, RegExp][] = [
    [
      'bad duration (the brief example)',
      'segments.yaml',
      `${seg('{ consent: email }')}- kind: segment
  id: churn-risk
  where:
    all:
      - computed: lifetime_revenue
        gt: 0
      - not:
          event: Order Completed
          within: 60x
`,
      /^segments\.yaml: document 2 \(id: churn-risk\): where\.all\[1\]\.not\.within: "60x" is not a duration \(use 30s, 15m, 3d, 2w\)$/,
    ],
    ['unknown top-level field', 'c.yaml', 'kind: computedTrait\nid: x\naggregate: count\nwindw: 3d\n', /^c\.yaml: document 0 \(id: x\): windw: unknown field/],
    [
      'unknown kind',
      'k.yaml',
      'kind: audience\nid: x\n',
      /^k\.yaml: document 0 \(id: x\): kind: must be one of computedTrait, segment, journey, policy, not "audience"/,
    ],
    ['not a mapping', 'k.yaml', '- 12\n', /^k\.yaml: document 0: \(document\): a definition must be a mapping/],
    ['wrong type', 'c.yaml', 'kind: computedTrait\nid: x\naggregate: sum\nproperty: 12\n', /document 0 \(id: x\): property: 12 is not a dotted property path/],
    ['bad aggregate', 'c.yaml', 'kind: computedTrait\nid: x\naggregate: avg\n', /aggregate: must be one of count, sum, min, max, first, last, not "avg"/],
    ['sum without property', 'c.yaml', 'kind: computedTrait\nid: x\nevent: E\naggregate: sum\n', /property: sum needs the property to aggregate/],
    [
      'count with property',
      'c.yaml',
      'kind: computedTrait\nid: x\nevent: E\naggregate: count\nproperty: properties.x\n',
      /property: count counts events and takes no property/,
    ],
    ['built-in id', 'c.yaml', 'kind: computedTrait\nid: revenue\naggregate: count\n', /id: "revenue" is a built-in computed trait/],
    ['bad computed id', 'c.yaml', 'kind: computedTrait\nid: life-time\naggregate: count\n', /id: "life-time" is not a valid computed trait id/],
    [
      'property path without a message root',
      'c.yaml',
      'kind: computedTrait\nid: x\naggregate: sum\nproperty: total\n',
      /property: "total" must start with one of properties\./,
    ],
    ['missing where', 's.yaml', 'kind: segment\nid: x\n', /^s\.yaml: document 0 \(id: x\): where: is required$/],
    [
      'two condition kinds in one mapping',
      's.yaml',
      seg('{ trait: a, eq: 1, consent: email }'),
      /document 1 \(id: s1\): where: a condition has exactly one of .* found trait and consent/,
    ],
    ['operator missing on a trait', 's.yaml', seg('{ trait: plan }'), /document 1 \(id: s1\): where: a trait condition needs an operator/],
    ['unknown operator', 's.yaml', seg('{ trait: plan, like: pro }'), /where\.like: unknown field \(a trait condition takes trait and the operators/],
    ['in needs a list', 's.yaml', seg('{ trait: plan, in: pro }'), /where\.in: in needs a non-empty list of values, not "pro"/],
    ['exists needs a boolean', 's.yaml', seg('{ trait: plan, exists: yes }'), /where\.exists: exists must be true or false, not "yes"/],
    ['prefix needs a string', 's.yaml', seg('{ trait: plan, prefix: 12 }'), /where\.prefix: prefix needs a string, not 12/],
    ['empty all', 's.yaml', seg('{ all: [] }'), /where\.all: all needs a non-empty list of conditions, not an empty list/],
    ['bare count', 's.yaml', seg('{ event: Order Completed, count: 2 }'), /where\.count: count needs an operator, e\.g\. count: \{ gte: 2 \}/],
    ['count with a string operator', 's.yaml', seg('{ event: E, count: { prefix: a } }'), /where\.count\.prefix: unknown operator for a count/],
    ['since outside journeys', 's.yaml', seg('{ event: E, since: journey.start }'), /where\.since: since: journey\.start is only available in journeys/],
    ['where key is an operator', 's.yaml', seg('{ event: E, where: { gte: 5 } }'), /where\.where\.gte: "gte" is an operator, not a property path/],
    [
      'where nested object',
      's.yaml',
      seg('{ event: E, where: { properties: { total: 5 } } }'),
      /where\.where\.properties\.total: unknown operator .*dotted path/,
    ],
    ['bad segment id', 's.yaml', 'kind: segment\nid: "has space"\nwhere: { consent: email }\n', /id: "has space" is not a valid id/],
  ];
  it.each(cases)('%s', (_name, file, text, re) => {
    const e = errorOf(() => parseDefinitions(text, file));
    expect(e.code).toBe('invalid_definition');
    expect(e.status).toBe(400);
    expect(e.message).toMatch(re);
  });

  const journey = (extra: string, steps = '  - action: email\n    subject: hi\n    body: hello\n') =>
    `kind: journey\nid: j1\ntrigger: { event: Order Completed }\nconsent: email\n${extra}steps:\n${steps}`;
  const jcases: [string, string, RegExp][] = [
    [
      'misspelt step field',
      journey('', '  - action: email\n    subjet: hi\n    body: x\n'),
      /steps\[0\]\.subjet: unknown field \(an email step takes: id, action, subject, body, to, from, consent, transactional\)/,
    ],
    ['missing required step field', journey('', '  - action: sms\n'), /steps\[0\]\.text: is required/],
    ['unknown action', journey('', '  - action: fax\n'), /steps\[0\]\.action: must be one of email, sms, webhook, traits, event, coupon, not "fax"/],
    ['step without a kind', journey('', '  - subject: x\n'), /steps\[0\]: a step needs one of action, wait, if, exit/],
    [
      'two kinds in one step',
      journey('', '  - wait: 3d\n    exit: true\n'),
      /steps\[0\]: a step has exactly one of action, wait, if, exit, found wait and exit/,
    ],
    ['bad wait', journey('', '  - wait: 3 days\n'), /steps\[0\]\.wait: "3 days" is not a duration/],
    [
      'wait until without timeout',
      journey('', '  - wait: { until: { event: X } }\n'),
      /steps\[0\]\.wait\.timeout: is required \(a duration: use 30s, 15m, 3d, 2w\)/,
    ],
    ['empty then', journey('', '  - if: { consent: sms }\n    then: []\n'), /steps\[0\]\.then: must be a non-empty list of steps, not an empty list/],
    [
      'nested branch error path',
      journey('', '  - if: { consent: sms }\n    then:\n      - action: sms\n        txt: x\n'),
      /steps\[0\]\.then\[0\]\.txt: unknown field/,
    ],
    ['exit must be true', journey('', '  - exit: false\n'), /steps\[0\]\.exit: must be true, not false/],
    ['duplicate step id', journey('', '  - id: a\n    wait: 1d\n  - id: a\n    wait: 1d\n'), /steps\[1\]\.id: duplicate step id "a"/],
    ['derived id collides with a declared one', journey('', '  - id: step-2\n    wait: 1d\n  - wait: 1d\n'), /steps\[1\]\.id: duplicate step id "step-2"/],
    ['no consent on a messaging journey', journey('').replace('consent: email\n', ''), /\(id: j1\): consent: this journey sends email or SMS/],
    ['bad holdout', journey('holdout: 0.1\n'), /holdout: holdout is a percentage from 0% to 99%, e.g\. 10%, not 0\.1/],
    ['holdout of 100%', journey('holdout: 100%\n'), /holdout: holdout is a percentage/],
    ['bad frequency', journey('frequency: { max: 0, per: 30d }\n'), /frequency\.max: must be at least 1, not 0/],
    [
      'frequency unknown field',
      journey('frequency: { max: 1, every: 30d }\n'),
      /frequency\.per: is required \(a duration: use 30s, 15m, 3d, 2w\)\n.*frequency\.every: unknown field \(frequency takes: max, per\)/,
    ],
    [
      'trigger without event or segment',
      journey('').replace('trigger: { event: Order Completed }', 'trigger: { name: X }'),
      /trigger: a trigger is \{ event: <name>, where\?: \{\.\.\.\} \} or \{ segment: <id>, on: entered\|exited \}/,
    ],
    [
      'segment trigger on',
      journey('').replace('trigger: { event: Order Completed }', 'trigger: { segment: s, on: joined }'),
      /trigger\.on: must be one of entered, exited, not "joined"/,
    ],
    [
      'trigger string range',
      journey('').replace('{ event: Order Completed }', '{ event: Order Completed, where: { properties.total: { gte: "500" } } }'),
      /trigger\.where\.properties\.total\.gte: gte in an event filter compares numbers/,
    ],
    [
      'trigger prefix and ne together',
      journey('').replace('{ event: Order Completed }', '{ event: E, where: { properties.sku: { prefix: A, ne: AB } } }'),
      /trigger\.where\.properties\.sku: an event filter can combine only a lower and an upper bound/,
    ],
    [
      'trigger ne true',
      journey('').replace('{ event: Order Completed }', '{ event: E, where: { properties.gift: { ne: true } } }'),
      /trigger\.where\.properties\.gift\.ne: ne in an event filter takes a string or a number/,
    ],
    [
      'trigger path not under a message field',
      journey('').replace('{ event: Order Completed }', '{ event: E, where: { total: 5 } }'),
      /trigger\.where\.total: "total" must start with one of properties\./,
    ],
    [
      'template with an unknown root',
      journey('', '  - action: email\n    subject: "Hi {{ trait.firstName }}"\n    body: x\n'),
      /steps\[0\]\.subject: in step step-1: \{\{ trait\.firstName \}\}: unknown root "trait" \(use traits\., computed\., event\., journey\., profile\., coupon\.\)/,
    ],
    [
      'template with an unknown journey field',
      journey('', '  - action: sms\n    text: "{{ journey.started }}"\n'),
      /steps\[0\]\.text: in step step-1: \{\{ journey\.started \}\}: journey has the fields id, name, start, step/,
    ],
    [
      'template not closed',
      journey('', '  - action: sms\n    text: "Hi {{ traits.firstName"\n'),
      /steps\[0\]\.text: in step step-1: "\{\{" at position 3 is not closed/,
    ],
    ['template with an unknown filter', journey('', '  - action: sms\n    text: "{{ traits.x | shout }}"\n'), /"shout" is not a filter/],
    ['template default unquoted', journey('', '  - action: sms\n    text: "{{ traits.x | default: there }}"\n'), /default value must be quoted/],
    [
      'template event field in a webhook body',
      journey('', '  - action: webhook\n    url: https://x.example/h\n    body: { a: ["{{ event.total }}"] }\n'),
      /steps\[0\]\.body\.a\[0\]: in step step-1: \{\{ event\.total \}\}: the event has no field "total"/,
    ],
    ['webhook host templated', journey('', '  - action: webhook\n    url: "https://{{ traits.host }}/x"\n'), /steps\[0\]\.url: .* is not a webhook URL/],
    ['event step without a name', journey('', '  - action: event\n    properties: { a: 1 }\n'), /steps\[0\]: an event step needs the event name/],
    ['traits step with nothing', journey('', '  - action: traits\n'), /steps\[0\]: a traits step needs set/],
    ['traits both set and unset', journey('', '  - action: traits\n    set: { a: 1 }\n    unset: [a]\n'), /steps\[0\]\.unset: a cannot be both set and unset/],
  ];
  it.each(jcases)('journey: %s', (_name, text, re) => {
    const e = errorOf(() => parseDefinitions(text, 'journeys.yaml'));
    expect(e.code).toBe('invalid_definition');
    expect(e.message).toMatch(/^journeys\.yaml: document 0 \(id: j1\): /);
    expect(e.message).toMatch(re);
  });

  it('a segment-triggered journey has no triggering event for {{ event.* }}', () => {
    const text = 'kind: journey\nid: j1\ntrigger: { segment: s }\nconsent: none\nsteps:\n  - action: sms\n    text: "{{ event.properties.x }}"\n';
    expect(errorOf(() => parseDefinitions(text, 'j.yaml')).message).toMatch(
      /steps\[0\]\.text: in step step-1: \{\{ event\.properties\.x \}\} refers to nothing: the journey is triggered by a segment/,
    );
  });

  it('reports every problem of every document, one line each', () => {
    const text =
      'kind: segment\nid: a\nwhere: { trait: x }\n---\nkind: segment\nid: b\nwhere: { consent: email }\n---\nkind: computedTrait\nid: c\naggregate: sum\nwindow: 1y\nfoo: 1\n';
    const e = errorOf(() => parseDefinitions(text, 'many.yaml'));
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^many\.yaml: document 0 \(id: a\): where: /);
    expect(lines[1]).toMatch(/^many\.yaml: document 2 \(id: c\): window: "1y" is not a duration/);
    expect(lines[2]).toMatch(/^many\.yaml: document 2 \(id: c\): foo: unknown field/);
    expect(e.details?.errors).toEqual(lines);
  });

  it('validateDefinition names the origin it is given (admin API bodies)', () => {
    const e = errorOf(() =>
      validateDefinition({ kind: 'segment', id: 'x', where: { consent: 'email' }, colour: 'red' }, { file: 'PUT /v1/segments/x', index: 0 }),
    );
    expect(e.message).toBe('PUT /v1/segments/x: document 0 (id: x): colour: unknown field (a segment takes: kind, name, description, id, where)');
    expect(e.details).toMatchObject({ file: 'PUT /v1/segments/x', index: 0, id: 'x', field: 'colour' });
  });
});

describe('grammar extensions', () => {
  it('accepts every condition and step form, with holdout, enabled and onTimeout', () => {
    const [j] = parseDefinitions(
      `kind: journey
id: full
trigger: { event: Signed Up, where: { properties.plan: [pro, team], context.locale: { prefix: fr }, properties.seats: { gt: 1, lte: 50 }, properties.coupon: { exists: false }, properties.ref: { ne: spam } } }
audience:
  any:
    - identifier: email
    - identifier: phone
      prefix: "+33"
    - { trait: address.city, in: [Paris, Lyon] }
    - { segment: s1 }
consent: email
holdout: 12.5%
enabled: false
exit: { not: { consent: email } }
steps:
  - wait: { until: { event: Activated, where: { properties.step: 3 } }, timeout: 2d, onTimeout: exit }
  - if: { event: Opened Email, count: { gte: 1, lt: 5 }, within: 7d }
    then:
      - action: event
        event: Nudged
        properties: { n: "{{ computed.orders_90d }}" }
    else:
      - action: traits
        unset: [nudge]
      - exit: true
  - action: webhook
    method: PUT
    url: "https://hooks.example.com/p/{{ profile.id }}?j={{ journey.id }}"
    headers: { x-journey: "{{ journey.name | default: \\"none\\" }}" }
`,
      'full.yaml',
    ) as JourneyDef[];
    expect(j).toMatchObject({
      holdout: 12.5,
      enabled: false,
      name: 'full',
      exit: { type: 'condition', condition: { type: 'not', of: { type: 'consent', channel: 'email' } } },
    });
    expect(stepIds(j!)).toEqual(['step-1', 'step-2', 'step-2.then-1', 'step-2.else-1', 'step-2.else-2', 'step-3']);
    expect(j!.steps[0]).toMatchObject({ type: 'waitUntil', event: 'Activated', timeoutMs: 2 * 86_400_000, onTimeout: 'exit' });
    expect(findStep(j!, 'step-2.then-1')).toMatchObject({ action: 'event', name: 'Nudged' });
    expect(j!.trigger).toMatchObject({ where: expect.arrayContaining([{ path: 'properties.plan', tests: [{ op: 'in', value: ['pro', 'team'] }] }]) });
  });

  it('holdout assignment is deterministic and close to the percentage', () => {
    const j = { id: 'j', holdout: 10 };
    let held = 0;
    for (let i = 0; i < 5000; i++) {
      const h = inHoldout(j, `p${i}`);
      expect(inHoldout(j, `p${i}`)).toBe(h);
      if (h) held++;
    }
    expect(held / 5000).toBeGreaterThan(0.08);
    expect(held / 5000).toBeLessThan(0.12);
    expect(inHoldout({ id: 'j', holdout: 0 }, 'p1')).toBe(false);
  });
});

describe('set validation', () => {
  const base = EXAMPLES.flatMap((f) => parseDefinitions(example(f), f));
  const add = (text: string, file = 'extra.yaml') => [...base, ...parseDefinitions(text, file)];

  it('rejects an unknown segment in a trigger, an audience and a branch', () => {
    const defs = add(`kind: journey
id: j1
trigger: { segment: vip, on: exited }
audience: { segment: high-valu }
consent: none
steps:
  - if: { not: { segment: nobody } }
    then: [{ exit: true }]
`);
    const e = errorOf(() => validateSet(defs));
    expect(e.message.split('\n')).toEqual([
      'extra.yaml: document 0 (id: j1): audience.segment: unknown segment "high-valu"',
      'extra.yaml: document 0 (id: j1): steps[0].if.not.segment: unknown segment "nobody"',
      'extra.yaml: document 0 (id: j1): trigger.segment: unknown segment "vip"',
    ]);
  });

  it('rejects unknown computed traits in conditions and templates; built-ins are known', () => {
    const defs = add(`- kind: segment
  id: big
  where: { all: [{ computed: revenue, gte: 10 }, { computed: lifetime_revenu, gte: 10 }] }
- kind: journey
  id: j2
  trigger: { segment: big }
  consent: email
  steps:
    - action: email
      subject: "{{ computed.order_count }} orders"
      body: "{{ computed.lifetime_value }}"
`);
    const issues = checkSet(defs);
    expect(issues.map((i) => i.text)).toEqual([
      expect.stringMatching(
        /^extra\.yaml: document 0 \(id: big\): where\.all\[1\]\.computed: unknown computed trait "lifetime_revenu" \(defined: lifetime_revenue, orders_90d, last_store, first_seen/,
      ),
      expect.stringMatching(
        /^extra\.yaml: document 1 \(id: j2\): steps\[0\]\.body: in step step-1: \{\{ computed\.lifetime_value \}\} refers to nothing: no computed trait "lifetime_value"/,
      ),
    ]);
  });

  it('rejects duplicate ids per kind, but allows one id across kinds', () => {
    const dup = add('kind: segment\nid: churn-risk\nwhere: { consent: sms }\n');
    expect(errorOf(() => validateSet(dup)).message).toBe(
      'extra.yaml: document 0 (id: churn-risk): id: duplicate segment id "churn-risk" (also segments.yaml: document 2)',
    );
    expect(() =>
      validateSet(add('kind: journey\nid: churn-risk\ntrigger: { segment: churn-risk }\nsteps: [{ action: traits, set: { risk: true } }]\n')),
    ).not.toThrow();
  });

  it('rejects cycles between segments, and self-reference', () => {
    const cyc = add(`- kind: segment
  id: a
  where: { any: [{ segment: b }, { consent: email }] }
- kind: segment
  id: b
  where: { not: { segment: c } }
- kind: segment
  id: c
  where: { all: [{ segment: a }] }
- kind: segment
  id: self
  where: { segment: self }
- kind: segment
  id: fine
  where: { segment: high-value }
`);
    const lines = checkSet(cyc).map((i) => i.text);
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => /segments refer to each other in a cycle: a → b → c → a/.test(l))).toBe(true);
    expect(lines.some((l) => /\(id: self\): where: segments refer to each other in a cycle: self → self/.test(l))).toBe(true);
  });

  it('a deletion that would leave a dangling reference is caught', () => {
    const withoutHighValue = base.filter((d) => !(d.kind === 'segment' && d.id === 'high-value'));
    expect(errorOf(() => validateSet(withoutHighValue)).message).toBe(
      'journeys.yaml: document 1 (id: vip-welcome): trigger.segment: unknown segment "high-value"',
    );
    const withoutRevenue = base.filter((d) => d.id !== 'lifetime_revenue');
    expect(checkSet(withoutRevenue).map((i) => i.text)).toEqual([
      expect.stringMatching(/segments\.yaml: document 0 \(id: high-value\): where\.all\[0\]\.computed: unknown computed trait "lifetime_revenue"/),
      expect.stringMatching(/segments\.yaml: document 2 \(id: churn-risk\): where\.all\[0\]\.computed: unknown computed trait/),
      expect.stringMatching(
        /journeys\.yaml: document 1 \(id: vip-welcome\): steps\[0\]\.body: in step step-1: \{\{ computed\.lifetime_revenue \}\} refers to nothing/,
      ),
    ]);
  });

  it('loadDefinitions rejects the whole set when one file is bad, naming every problem', () => {
    const files = [...EXAMPLES.map((file) => ({ file, text: example(file) })), { file: 'bad.yaml', text: 'kind: segment\nid: x\nwhere: { segment: nope }\n' }];
    const e = errorOf(() => loadDefinitions(files));
    expect(e.message).toBe('bad.yaml: document 0 (id: x): where.segment: unknown segment "nope"');
  });

  it('types narrow by kind', () => {
    const c: ComputedTraitDef = byId(base, 'computedTrait', 'orders_90d');
    const s: SegmentDef = byId(base, 'segment', 'high-value');
    expect([c.kind, s.kind]).toEqual(['computedTrait', 'segment']);
  });
});
