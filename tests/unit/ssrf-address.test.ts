/**
 * The webhook SSRF guard as an attacker probes it (issue 13): a journey webhook URL is chosen by
 * whoever may edit definitions, and its host may resolve to anything. Each address here reaches an
 * internal service (the instance metadata 169.254.169.254, localhost, a VPC peer) or a range no
 * webhook receiver lives in, written in the forms that slip past a list of IPv4 ranges.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPrivateAddress } from '#shared/journeys/actions/address';

describe('webhook address guard', () => {
  it('refuses IPv4 inside IPv6: NAT64, IPv4-compatible, 6to4, mapped (dotted and hex)', () => {
    for (const ip of [
      '64:ff9b::169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '64:ff9b::7f00:1',
      '::169.254.169.254',
      '::a9fe:a9fe',
      '::127.0.0.1',
      '2002:a9fe:a9fe::1',
      '2002:7f00:1::',
      '2002:c0a8:101::1',
      '::ffff:10.0.0.1',
      '::ffff:a9fe:a9fe',
      '0:0:0:0:0:ffff:7f00:1',
      '64:ff9b:1::1',
    ])
      expect(isPrivateAddress(ip), ip).toBe(true);
  });

  it('refuses multicast, reserved, broadcast, benchmark, documentation and IETF ranges', () => {
    for (const ip of [
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '198.19.255.255',
      '192.0.0.8',
      '192.0.2.1',
      '198.51.100.7',
      '203.0.113.9',
      'ff02::1',
      '100::1',
      '2001:db8::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    ])
      expect(isPrivateAddress(ip), ip).toBe(true);
  });

  it('still allows public addresses in every form', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '198.20.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])
      expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it('refuses what is not an address', () => {
    for (const ip of ['', 'localhost', '1.2.3', '::g', '1:2:3:4:5:6:7:8:9']) expect(isPrivateAddress(ip), ip).toBe(true);
  });

  it('property: an IPv4 address is judged the same in each IPv6 form that carries it', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        const b = v4.split('.').map(Number);
        const hex = `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
        const want = isPrivateAddress(v4);
        for (const form of [`::ffff:${v4}`, `::ffff:${hex}`, `64:ff9b::${v4}`, `64:ff9b::${hex}`, `2002:${hex}::1`, `::${hex}`])
          expect(isPrivateAddress(form), form).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });
});
