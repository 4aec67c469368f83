/**
 * The SSRF guard's address check: which resolved addresses a webhook may not connect to.
 *
 * Refused: IPv4 private (10/8, 172.16/12, 192.168/16), loopback (127/8), link-local (169.254/16),
 * "this network" (0/8), shared CGNAT space (100.64/10), IETF protocol assignments (192.0.0/24),
 * documentation (192.0.2/24, 198.51.100/24, 203.0.113/24), benchmarking (198.18/15), multicast
 * (224/4), reserved and broadcast (240/4, which holds 255.255.255.255); IPv6 loopback and
 * unspecified, unique-local (fc00::/7), link-local (fe80::/10), multicast (ff00::/8), discard-only
 * (100::/64), documentation (2001:db8::/32), Teredo (2001::/32, whose IPv4 is obfuscated) and
 * local-use NAT64 (64:ff9b:1::/48). An IPv6 address that carries an IPv4 one is judged by that IPv4
 * address: IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96) and 6to4
 * (2002::/16) — so `64:ff9b::a9fe:a9fe` is the metadata service 169.254.169.254, refused.
 */
import { BlockList, isIP } from 'node:net';

const V4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  V4.addSubnet(net, bits, 'ipv4');

const V6 = new BlockList();
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  V6.addSubnet(net, bits, 'ipv6');

/** An IPv6 address as its eight 16-bit groups (a trailing dotted IPv4 part included), or undefined. */
export function ipv6Groups(ip: string): number[] | undefined {
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, -dotted[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail, ...more] = text.split('::');
  if (more.length) return undefined;
  const part = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const h = part(head);
  const t = part(tail);
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

const v4Of = (hi: number, lo: number) => [hi >>> 8, hi & 255, lo >>> 8, lo & 255].join('.');

/** The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIpv4(g: number[]): string | undefined {
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return v4Of(g[6]!, g[7]!); // ::ffff:a.b.c.d
  if (zero(0, 6)) return v4Of(g[6]!, g[7]!); // ::a.b.c.d (and :: / ::1 → 0.0.0.0 / 0.0.0.1, refused as 0/8)
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4Of(g[6]!, g[7]!); // 64:ff9b::a.b.c.d
  if (g[0] === 0x2002) return v4Of(g[1]!, g[2]!); // 2002:aabb:ccdd::
  return undefined;
}

/** True for addresses a webhook may not reach (see the file comment); anything not an address too. */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '').split('%')[0]!;
  const v = isIP(bare);
  if (v === 4) return V4.check(bare, 'ipv4');
  if (v !== 6) return true;
  const groups = ipv6Groups(bare);
  if (!groups) return true;
  const v4 = embeddedIpv4(groups);
  if (v4 !== undefined) return V4.check(v4, 'ipv4');
  return V6.check(bare, 'ipv6');
}
