/**
 * Admin API for definitions (docs/api.md#admin-api, docs/definitions.md) on the local stack: CRUD of computed traits, segments
 * and journeys, YAML bodies, validation of the document and of the running set it would make
 * (unknown field, bad duration, unknown segment, cycle, id mismatch) with the running definitions
 * untouched, deletes refused while referenced, journey rules created and removed on the bus.
 */
import { describe, expect, it } from 'vitest';
import { ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { eventBridge } from '#shared/aws/clients';
import { BUS } from '#shared/config/resources';
import { JOURNEY_FUNCTION_ENV, useLocalStack } from '../support/stack';

// λ journey's ARN as the local stack names it (rules target it).
const stack = useLocalStack({ name: 'defs', env: JOURNEY_FUNCTION_ENV });
const api = (method: string, path: string, body?: unknown, contentType = 'application/json') => stack.admin(method, path, body, { contentType });

const revenue = { kind: 'computedTrait', id: 'lifetime_revenue', event: 'Order Completed', aggregate: 'sum', property: 'properties.total' };
const highValue = { kind: 'segment', id: 'high-value', where: { all: [{ computed: 'lifetime_revenue', gte: 1000 }, { consent: 'email' }] } };

describe('definitions admin API', () => {
  it('requires the admin token', async () => {
    const res = await fetch(stack.url + '/v1/segments');
    expect(res.status).toBe(401);
  });

  it('PUT creates, GET shows the document as written, PUT again is unchanged, a change is a new version', async () => {
    const created = await api('PUT', '/v1/computed-traits/lifetime_revenue', revenue);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ kind: 'computedTrait', id: 'lifetime_revenue', version: 1, result: 'created', definition: revenue });

    const got = await api('GET', '/v1/computed-traits/lifetime_revenue');
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ kind: 'computedTrait', id: 'lifetime_revenue', version: 1, updatedAt: created.json.updatedAt, definition: revenue });

    const again = await api('PUT', '/v1/computed-traits/lifetime_revenue', revenue);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ version: 1, result: 'unchanged' });

    const changed = { ...revenue, name: 'Lifetime revenue' };
    const updated = await api('PUT', '/v1/computed-traits/lifetime_revenue', changed);
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ version: 2, result: 'updated', definition: changed });

    const list = await api('GET', '/v1/computed-traits');
    expect(list.json.items.map((i: { id: string }) => i.id)).toEqual(['lifetime_revenue']);
  });

  it('accepts YAML with content-type application/yaml, and a document without kind on its route', async () => {
    const yaml = 'id: high-value\nwhere:\n  all:\n    - computed: lifetime_revenue\n      gte: 1000\n    - consent: email\n';
    const r = await api('PUT', '/v1/segments/high-value', yaml, 'application/yaml');
    expect(r.status).toBe(201);
    // Stored self-describing: the route's kind is added to a document that omits it.
    expect(r.json.definition).toEqual({ id: 'high-value', where: highValue.where, kind: 'segment' });
    expect((await api('GET', '/v1/segments')).json.items).toHaveLength(1);
  });

  it('rejects an unknown field, naming it, and leaves the running definition as it was', async () => {
    const r = await api('PUT', '/v1/computed-traits/lifetime_revenue', { ...revenue, aggregat: 'sum' });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_definition');
    expect(r.json.error.message).toMatch(/document 0 \(id: lifetime_revenue\): aggregat: unknown field/);
    expect((await api('GET', '/v1/computed-traits/lifetime_revenue')).json.version).toBe(2);
  });

  it('rejects a duration that does not parse', async () => {
    const r = await api('PUT', '/v1/segments/churn-risk', {
      kind: 'segment',
      id: 'churn-risk',
      where: { not: { event: 'Order Completed', within: '60x' } },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/where\.not\.within: "60x" is not a duration/);
    expect((await api('GET', '/v1/segments/churn-risk')).status).toBe(404);
  });

  it('rejects a reference to an unknown segment and to an unknown computed trait', async () => {
    const r = await api('PUT', '/v1/segments/vip-plus', { kind: 'segment', id: 'vip-plus', where: { all: [{ segment: 'nope' }, { computed: 'ltv', gt: 1 }] } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/where\.all\[0\]\.segment: unknown segment "nope"/);
    expect(r.json.error.message).toMatch(/where\.all\[1\]\.computed: unknown computed trait "ltv"/);
  });

  it('rejects a cycle between segments, keeping the segments already applied', async () => {
    expect((await api('PUT', '/v1/segments/a', { kind: 'segment', id: 'a', where: { segment: 'high-value' } })).status).toBe(201);
    expect((await api('PUT', '/v1/segments/b', { kind: 'segment', id: 'b', where: { segment: 'a' } })).status).toBe(201);
    const r = await api('PUT', '/v1/segments/a', { kind: 'segment', id: 'a', where: { any: [{ segment: 'high-value' }, { segment: 'b' }] } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/cycle: (a → b → a|b → a → b)/);
    expect((await api('GET', '/v1/segments/a')).json.definition.where).toEqual({ segment: 'high-value' });
  });

  it('rejects an id that differs from the URL, and a kind that differs from the route', async () => {
    const r1 = await api('PUT', '/v1/segments/other', highValue);
    expect(r1.status).toBe(400);
    expect(r1.json.error.message).toMatch(/id: "high-value" does not match the id in the URL \("other"\)/);
    const r2 = await api('PUT', '/v1/segments/lifetime_revenue', revenue);
    expect(r2.status).toBe(400);
    expect(r2.json.error.message).toMatch(/kind: must be "segment"/);
    const r3 = await api('PUT', '/v1/segments/x', '{not json');
    expect(r3.status).toBe(400);
  });

  it('refuses to delete what is still referenced (409), then deletes in order', async () => {
    const r = await api('DELETE', '/v1/computed-traits/lifetime_revenue');
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('definition_in_use');
    expect(r.json.error.message).toContain('high-value');
    expect((await api('DELETE', '/v1/segments/a')).status).toBe(409); // b uses a
    expect((await api('DELETE', '/v1/segments/b')).status).toBe(200);
    expect((await api('DELETE', '/v1/segments/a')).status).toBe(200);
    expect((await api('DELETE', '/v1/segments/a')).status).toBe(404);
    expect((await api('GET', '/v1/segments/a')).status).toBe(404);
  });

  it('journeys: PUT creates the rules on the Cairn bus, DELETE removes them', async () => {
    const journey = {
      kind: 'journey',
      id: 'vip-welcome',
      trigger: { segment: 'high-value', on: 'entered' },
      consent: 'email',
      steps: [{ action: 'email', subject: 'Welcome', body: 'Thanks {{ traits.firstName | default: "there" }}' }],
    };
    const r = await api('PUT', '/v1/journeys/vip-welcome', journey);
    expect(r.status).toBe(201);
    const rules = await eventBridge().send(new ListRulesCommand({ EventBusName: BUS.name, NamePrefix: 'cairn-journey-vip-welcome' }));
    expect(rules.Rules?.map((x) => x.Name)).toEqual(['cairn-journey-vip-welcome-trigger']);
    expect(JSON.parse(rules.Rules![0]!.EventPattern!)).toEqual({ source: ['cairn'], 'detail-type': ['segment.entered'], detail: { segment: ['high-value'] } });
    const targets = await eventBridge().send(new ListTargetsByRuleCommand({ EventBusName: BUS.name, Rule: 'cairn-journey-vip-welcome-trigger' }));
    expect(targets.Targets?.[0]?.Arn).toMatch(/function:cairn-journey$/);

    expect((await api('DELETE', '/v1/segments/high-value')).status).toBe(409); // the journey's trigger uses it
    expect((await api('DELETE', '/v1/journeys/vip-welcome')).status).toBe(200);
    const after = await eventBridge().send(new ListRulesCommand({ EventBusName: BUS.name, NamePrefix: 'cairn-journey-vip-welcome' }));
    expect(after.Rules ?? []).toEqual([]);
  });

  it('members of an unknown segment is 404; of a known one, a page', async () => {
    expect((await api('GET', '/v1/segments/nope/members')).status).toBe(404);
    const r = await api('GET', '/v1/segments/high-value/members?limit=10');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ segment: 'high-value', members: [], next: null });
    expect((await api('GET', '/v1/segments/high-value/members?limit=0')).status).toBe(400);
  });
});
