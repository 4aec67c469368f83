import { describe, expect, it } from 'vitest';
import { parseJsonPath, predefinedEvent, targetInput, templatePlaceholders, transformInput, validateTargetInput } from '#shared/eventbridge/input';
import { CairnError } from '#shared/errors';

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
        InputPathsMap: {
          ev: '$.detail.event',
          rev: '$.detail.properties.revenue',
          items: '$.detail.properties.items',
          flag: '$.detail.flag',
          gone: '$.detail.gone',
        },
        InputTemplate:
          '{"ev": <ev>, "says": "got <ev> for <rev>", "items": <items>, "flag": <flag>, "gone": <gone>, "goneText": "[<gone>]", "whole": <aws.events.event.json>, "rule": "<aws.events.rule-arn>"}',
      },
      ctx,
    );
    expect(out).toEqual({
      ev: 'Order "Big" Completed',
      says: 'got Order "Big" Completed for 10',
      items: [{ sku: 'a' }, { sku: 'b' }],
      flag: true,
      gone: '', // as AWS recorded it: a missing path outside quotes gives ""
      goneText: '[]',
      whole: event,
      rule: ctx.ruleArn,
    });
  });

  it('gives <aws.events.event> as AWS does: no detail, detailType in camelCase, time = ingestion time', () => {
    const ingestionTime = '2025-01-01T00:00:00.123Z';
    const out = transformInput(
      event,
      { InputTemplate: '{"e": <aws.events.event>, "j": <aws.events.event.json>, "t": "<aws.events.event.ingestion-time>"}' },
      { ...ctx, ingestionTime },
    );
    const envelope = {
      id: 'e-1',
      account: '000000000000',
      detailType: 'track',
      time: ingestionTime,
      source: 'cairn',
      region: 'us-east-1',
      resources: [],
      version: '0',
    };
    expect(out).toEqual({ e: envelope, j: event, t: ingestionTime });
    expect(JSON.stringify(predefinedEvent(event, ingestionTime))).toBe(JSON.stringify(envelope)); // AWS's key order
    expect(out).not.toHaveProperty('e.detail');
  });

  it('returns plain text when the template is not JSON', () => {
    expect(transformInput(event, { InputPathsMap: { s: '$.source' }, InputTemplate: 'from <s> at <aws.events.event.ingestion-time>' }, ctx)).toBe(
      'from "cairn" at "2025-01-01T00:00:00Z"',
    );
    expect(transformInput(event, { InputPathsMap: { s: '$.source' }, InputTemplate: '"from <s>"' }, ctx)).toBe('from cairn');
  });

  it('validates target input settings with AWS words', () => {
    expect(() => validateTargetInput({ Input: '{}', InputPath: '$' }, 't1')).toThrow(
      'Only one of Input, InputPath, or InputTransformer must be provided for target t1.',
    );
    expect(() => validateTargetInput({ Input: '{nope' }, 't1')).toThrow(/valid JSON/);
    expect(() => validateTargetInput({ InputTransformer: { InputPathsMap: { 'aws.x': '$' }, InputTemplate: '' } }, 't1')).toThrow(CairnError);
    expect(() => validateTargetInput({ InputTransformer: { InputPathsMap: { ok: 'bad' }, InputTemplate: '<ok>' } }, 't1')).toThrow(CairnError);
    expect(() => validateTargetInput({ InputTransformer: { InputPathsMap: { ok: '$.a' }, InputTemplate: '<ok>' } }, 't1')).not.toThrow();
    expect(() => validateTargetInput({ InputTransformer: { InputPathsMap: { ok: '$.a' }, InputTemplate: '"<ok> <unknown>"' } }, 't1')).toThrow(
      'InputTemplate for target t1 contains invalid placeholder unknown.',
    );
    expect(() =>
      validateTargetInput(
        {
          InputTransformer: {
            InputTemplate:
              '{"e": <aws.events.event.json>, "r": "<aws.events.rule-name> <aws.events.rule-arn> <aws.events.event> <aws.events.event.ingestion-time>"}',
          },
        },
        't1',
      ),
    ).not.toThrow();
    expect(templatePlaceholders('"a <b> c <d-e> <aws.events.event.json> a < b"')).toEqual(['b', 'd-e', 'aws.events.event.json']);
  });
});
