/**
 * The console's backend in pure code: the search box's reading of free text as identifiers
 * (shared/identity searchIdentifiers) and a segment's preview (shared/segments previewSegment): the
 * same membership settleProfile gives, counted page by page, continued by cursor within a budget.
 */
import { describe, expect, it } from 'vitest';
import { parseDefinitions, type SegmentDef } from '#shared/definitions';
import { identityConfig, identityKey, newProfile, searchIdentifiers, type ProfileRecord } from '#shared/identity';
import { previewSegment, settleProfile, compileRuntime, type ProfilePages } from '#shared/segments';

const config = identityConfig();
const keys = (q: string) => searchIdentifiers(q, config).map(identityKey);

describe('searchIdentifiers', () => {
  it('reads a phone in local formats as E.164 with the default country, an email lower-cased, and ids as written', () => {
    expect(keys('(206) 342-8631')).toContain('phone:+12063428631');
    expect(keys('206.342.8631')).toContain('phone:+12063428631');
    expect(keys(' Ada@Example.COM ')).toContain('email:ada@example.com');
    expect(keys('cust-000123')).toEqual(expect.arrayContaining(['user_id:cust-000123', 'crm_id:cust-000123']));
    expect(keys('crm_id:C-1')).toContain('crm_id:C-1');
    expect(keys('ABCDEF01-2345-5678-9abc-def012345678')).toContain('profile_id:abcdef01-2345-5678-9abc-def012345678');
  });
  it('leaves out what names nobody: blocked values, empty text, text no type accepts', () => {
    expect(keys('test@example.com')).not.toContain('email:test@example.com');
    expect(keys('guest')).not.toContain('user_id:guest');
    expect(keys('   ')).toEqual([]);
    expect(keys('x'.repeat(400))).toEqual([]);
    expect(keys('hello')).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(email|phone):/)]));
  });
});

describe('previewSegment', () => {
  const [seg] = parseDefinitions('kind: segment\nid: consenting\nwhere: { consent: email }\n', 'x.yaml') as [SegmentDef];
  const people: ProfileRecord[] = Array.from({ length: 250 }, (_, i) => {
    const p = newProfile(`p-${String(i).padStart(3, '0')}`, '2024-01-01T00:00:00.000Z');
    if (i % 5 === 0) p.consent = { email: { granted: true, timestamp: '2024-01-01T00:00:00.000Z', source: 's', k: 'k' } };
    return p;
  });
  const pages: ProfilePages = async (after) => {
    const start = after === undefined ? 0 : Number(after);
    const end = Math.min(start + 100, people.length);
    return { profiles: people.slice(start, end), ...(end < people.length ? { last: String(end) } : {}) };
  };

  it('counts what settleProfile counts, to the end of the table in one call when the budget allows', async () => {
    const r = await previewSegment(seg!, [], pages, { now: Date.now() });
    const rt = compileRuntime([seg!]);
    expect(r).toMatchObject({
      scanned: 250,
      matched: people.filter((p) => settleProfile(p, rt, Date.now()).segments.includes('consenting')).length,
      cursor: null,
    });
    expect(r.matched).toBe(50);
    expect(r.sample).toHaveLength(10);
  });

  it('stops when the budget is spent and continues from the cursor; the pages add up to the whole', async () => {
    let t = 0;
    const clock = () => (t += 1000);
    let cursor: string | undefined;
    let scanned = 0;
    let matched = 0;
    let calls = 0;
    do {
      const r = await previewSegment(seg!, [], pages, { now: Date.now(), budgetMs: 500, clock, ...(cursor ? { cursor } : {}) });
      scanned += r.scanned;
      matched += r.matched;
      cursor = r.cursor ?? undefined;
      calls++;
    } while (cursor);
    expect({ scanned, matched, calls }).toEqual({ scanned: 250, matched: 50, calls: 3 });
  });
});
