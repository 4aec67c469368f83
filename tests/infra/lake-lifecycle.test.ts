/**
 * The lake's lifecycle rules for erasure at scale (docs/privacy.md): quarantine/ expires
 * LAKE.quarantineExpiryDays after an object is written (`cairn:quarantineDays`), so every erasure
 * pass, which reads quarantine/ whole, reads a bounded amount; events/ and profiles/ never expire.
 */
import { describe, expect, it } from 'vitest';
import { LAKE } from '#shared/config/resources';
import { synthCairn } from './synth';

type Json = Record<string, any>;
function rules(context: Record<string, unknown> = {}): Json[] {
  const { stack, template } = synthCairn({}, context);
  const id = stack.getLogicalId(stack.lake.bucket.node.defaultChild as never);
  return (template.toJSON().Resources as Record<string, Json>)[id]!.Properties.LifecycleConfiguration.Rules as Json[];
}

describe('lake lifecycle', () => {
  it('expire-quarantine: objects under quarantine/ expire after LAKE.quarantineExpiryDays (30) by default', () => {
    const r = rules();
    expect(LAKE.quarantineExpiryDays).toBe(30);
    expect(r).toContainEqual({ Id: 'expire-quarantine', Prefix: LAKE.quarantinePrefix, ExpirationInDays: 30, Status: 'Enabled' });
    // Noncurrent versions (what the expiry leaves behind a delete marker) go 30 days later.
    expect(r.some((x) => x.Id === 'expire-old-versions' && x.NoncurrentVersionExpiration?.NoncurrentDays === 30)).toBe(true);
    // events/ and profiles/ (daily snapshots included) are never expired.
    for (const x of r.filter((y) => y.ExpirationInDays)) {
      expect(x.Prefix?.startsWith(LAKE.eventsPrefix) || x.Prefix?.startsWith(LAKE.profilesPrefix) || !x.Prefix).toBe(false);
    }
  });

  it('cairn:quarantineDays sets it; a bad value fails the synth', () => {
    expect(rules({ 'cairn:quarantineDays': '7' })).toContainEqual(expect.objectContaining({ Id: 'expire-quarantine', ExpirationInDays: 7 }));
    expect(() => rules({ 'cairn:quarantineDays': '0' })).toThrow(/cairn:quarantineDays/);
  });
});
