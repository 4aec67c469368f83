/**
 * λ import's pure parts: which keys under `imports/` it acts on, the two event shapes that invoke it
 * (S3 event notifications with URL-encoded keys, and their EventBridge form), and manifests.
 */
import { describe, expect, it } from 'vitest';
import { classifyKey, DEFAULT_IMPORT_SOURCE, objectsOfEvent, parseManifest } from '#shared/import/s3';

describe('keys under imports/', () => {
  it('data files, manifests and checkpoints name their data file; outputs and other keys are ignored', () => {
    expect(classifyKey('imports/crm/customers.csv')).toEqual({ kind: 'data', file: 'imports/crm/customers.csv' });
    expect(classifyKey('imports/orders.JSONL')).toEqual({ kind: 'data', file: 'imports/orders.JSONL' });
    expect(classifyKey('imports/crm/customers.csv.import.json')).toEqual({ kind: 'manifest', file: 'imports/crm/customers.csv' });
    expect(classifyKey('imports/crm/customers.csv.checkpoint.json')).toEqual({ kind: 'checkpoint', file: 'imports/crm/customers.csv' });
    // Its own outputs never trigger an import (a rejects file is a .csv too).
    for (const k of ['imports/a.csv.report.json', 'imports/a.csv.rejects.csv', 'imports/a.jsonl.rejects.jsonl']) expect(classifyKey(k).kind).toBe('output');
    expect(classifyKey('imports/crm/_import.json').kind).toBe('folderManifest');
    expect(classifyKey('imports/readme.md').kind).toBe('other');
    expect(classifyKey('imports/crm/').kind).toBe('other');
    expect(classifyKey('events/dt=2024-01-01/x.csv').kind).toBe('other');
  });
});

describe('events that invoke λ import', () => {
  it('S3 event notifications: created objects only, keys URL-decoded as S3 encodes them', () => {
    const rec = (eventName: string, key: string) => ({ eventName, s3: { bucket: { name: 'lake' }, object: { key } } });
    expect(
      objectsOfEvent({
        Records: [
          rec('ObjectCreated:Put', 'imports/crm/customers+2024%C3%A9%2B.csv'),
          rec('ObjectRemoved:Delete', 'imports/x.csv'),
          rec('ObjectCreated:CompleteMultipartUpload', 'imports/big.csv'),
        ],
      }),
    ).toEqual([
      { bucket: 'lake', key: 'imports/crm/customers 2024é+.csv' },
      { bucket: 'lake', key: 'imports/big.csv' },
    ]);
  });

  it('the EventBridge form of an S3 Object Created event', () => {
    expect(
      objectsOfEvent({ source: 'aws.s3', 'detail-type': 'Object Created', detail: { bucket: { name: 'lake' }, object: { key: 'imports/a b.csv' } } }),
    ).toEqual([{ bucket: 'lake', key: 'imports/a b.csv' }]);
    expect(
      objectsOfEvent({ source: 'aws.s3', 'detail-type': 'Object Deleted', detail: { bucket: { name: 'lake' }, object: { key: 'imports/a.csv' } } }),
    ).toEqual([]);
    expect(objectsOfEvent({})).toEqual([]);
  });
});

describe('manifests', () => {
  it('takes map as an object or as Column=field specs; source defaults to the default source', () => {
    expect(parseManifest('{"type":"identify","map":{"Email":"traits.email","Id":"crm_id"}}', 'm')).toEqual({
      type: 'identify',
      map: ['Email=traits.email', 'Id=crm_id'],
      source: DEFAULT_IMPORT_SOURCE,
    });
    expect(
      parseManifest('{"type":"track","event":" Order Completed ","map":["at=timestamp"],"onlyMapped":true,"delimiter":"tab","source":"shop"}', 'm'),
    ).toEqual({
      type: 'track',
      event: 'Order Completed',
      map: ['at=timestamp'],
      onlyMapped: true,
      delimiter: '\t',
      source: 'shop',
    });
  });

  it('refuses what it cannot use, naming the manifest and the field', () => {
    const bad: [string, RegExp][] = [
      ['not json', /^m\.json is not JSON/],
      ['[]', /must be a JSON object/],
      ['{"type":"page"}', /type must be "identify" or "track", got "page"/],
      ['{"type":"identify","mapping":{}}', /unknown field "mapping"/],
      ['{"type":"identify","map":{"Email":1}}', /map\.Email must be a field name/],
      ['{"type":"identify","map":"Email=traits.email"}', /map must be/],
      ['{"type":"track","event":""}', /event must be a non-empty string/],
      ['{"type":"identify","delimiter":"|"}', /delimiter must be/],
      ['{"type":"identify","source":"a b"}', /source must be a source id/],
    ];
    for (const [text, re] of bad) {
      expect(() => parseManifest(text, 'm.json'), text).toThrow(re);
      try {
        parseManifest(text, 'm.json');
      } catch (e) {
        expect((e as { code: string }).code).toBe('invalid_import_manifest');
      }
    }
  });
});
