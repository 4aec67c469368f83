import { describe, expect, it } from 'vitest';
import { parseJsonPath, targetInput, transformInput, validateTargetInput } from '../../shared/eventbridge/input';
import { CairnError } from '../../shared/errors';

const event = {
  version: '0',
  id: 'e-1',
  'detail-type': 'track',
  source: 'cairn',
  account: '000000000000',
  time: '2025-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: { event: 'Order "Big" Completed', properties: { revenue: 10, items: [{ sku: 'a' }, { sku: 'b' }] }, flag: true },
};
const ctx = { ruleName: 'r', ruleArn: 'arn:aws:events:us-east-1:000000000000:rule/r' };

describe('target input', () => {
  it('parses the JSONPath subset EventBridge uses', () => {
    expect(parseJsonPath('$')).toEqual([]);
    expect(parseJsonPath('$.detail-type')).toEqual(['detail-type']);
    expect(parseJsonPath("$.detail.items[1]['s k']")).toEqual(['detail', 'items', 1, 's k']);
    expect(() => parseJsonPath('detail')).toThrow(CairnError);
    expect(() => parseJsonPath('$..x')).toThrow(/empty step/);
  });

  it('delivers the whole event, a constant, or the InputPath selection', () => {
    expect(targetInput(event, {}, ctx)).toBe(event);
    expect(targetInput(event, { Input: '{"a":[1]}' }, ctx)).toEqual({ a: [1] });
    expect(targetInput(event, { InputPath: '$.detail.properties.items[1].sku' }, ctx)).toBe('b');
    expect(targetInput(event, { InputPath: '$.detail.nothing' }, ctx)).toBeNull();
  });

  it('fills InputTransformer templates: JSON values outside quotes, escaped text inside', () => {
    const out = transformInput(
      event,
      {
        InputPathsMap: { ev: '$.detail.event', rev: '$.detail.properties.revenue', items: '$.detail.properties.items', flag: '$.detail.flag', gone: '$.detail.gone' },
        InputTemplate: '{"ev": <ev>, "says": "got <ev> for <rev>", "items": <items>, "flag": <flag>, "gone": <gone>, "goneText": "[<gone>]", "whole": <aws.events.event>, "rule": "<aws.events.rule-arn>", "kept": "<unknown>"}',
      },
      ctx,
    );
    expect(out).toEqual({
      ev: 'Order "Big" Completed',
      says: 'got Order "Big" Completed for 10',
      items: [{ sku: 'a' }, { sku: 'b' }],
      flag: true,
      gone: null,
      goneText: '[]',
      whole: event,
      rule: ctx.ruleArn,
      kept: '<unknown>',
    });
  });

  it('returns plain text when the template is not JSON', () => {
    expect(transformInput(event, { InputPathsMap: { s: '$.source' }, InputTemplate: 'from <s> at <aws.events.event.ingestion-time>' }, ctx)).toBe(
      'from "cairn" at "2025-01-01T00:00:00Z"',
    );
    expect(transformInput(event, { InputPathsMap: { s: '$.source' }, InputTemplate: '"from <s>"' }, ctx)).toBe('from cairn');
  });

  it('validates target input settings', () => {
    expect(() => validateTargetInput({ Input: '{}', InputPath: '$' })).toThrow(/Only one/);
    expect(() => validateTargetInput({ Input: '{nope' })).toThrow(/valid JSON/);
    expect(() => validateTargetInput({ InputTransformer: { InputPathsMap: { 'aws.x': '$' }, InputTemplate: '' } })).toThrow();
    expect(() => validateTargetInput({ InputTransformer: { InputPathsMap: { ok: 'bad' }, InputTemplate: '<ok>' } })).toThrow(CairnError);
    expect(() => validateTargetInput({ InputTransformer: { InputPathsMap: { ok: '$.a' }, InputTemplate: '<ok>' } })).not.toThrow();
  });
});
