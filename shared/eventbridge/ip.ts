/**
 * IPv4/IPv6 parsing for EventBridge's `cidr` operator and IP-valued exact matches. Addresses are
 * parsed to bigints so both families compare the same way.
 */

export interface IpAddress {
  v6: boolean;
  value: bigint;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIPv4(s: string): bigint | undefined {
  const m = V4.exec(s);
  if (!m) return undefined;
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    const n = Number(part);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

export function parseIPv6(s: string): bigint | undefined {
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.includes('.')) {
        // An embedded IPv4 address is only allowed as the last item.
        if (i !== items.length - 1) return undefined;
        const v4 = parseIPv4(it);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return undefined;
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(g);
  return v;
}

export function parseIp(s: string): IpAddress | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { v6: false, value: v4 };
  const v6 = parseIPv6(s);
  return v6 === undefined ? undefined : { v6: true, value: v6 };
}

export interface CidrRange {
  v6: boolean;
  low: bigint;
  high: bigint;
}

/** Parses `a.b.c.d/n` or `x:y::z/n`; undefined when malformed. */
export function parseCidr(s: string): CidrRange | undefined {
  const slash = s.indexOf('/');
  if (slash < 0 || slash !== s.lastIndexOf('/')) return undefined;
  const ip = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return undefined;
  const bits = ip.v6 ? 128 : 32;
  const len = Number(lenText);
  if (len > bits) return undefined;
  const hostBits = BigInt(bits - len);
  const mask = (1n << hostBits) - 1n;
  const low = ip.value & ~mask & ((1n << BigInt(bits)) - 1n);
  return { v6: ip.v6, low, high: low | mask };
}

export function ipInRange(ip: IpAddress, r: CidrRange): boolean {
  return ip.v6 === r.v6 && ip.value >= r.low && ip.value <= r.high;
}
