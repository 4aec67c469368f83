/**
 * EventBridge `wildcard` filters: `*` matches any run of characters (including none), `\*` is a
 * literal star, `\\` a literal backslash; any other escape and `**` are invalid. EventBridge also
 * rejects wildcard filters whose matching machine is "too complex" (many wildcards that can be
 * active at once, e.g. `*:*:*:*:*:event-bus/*`); `wildcardComplexity` approximates AWS's measure:
 * the largest number of positions after a wildcard that one input string can occupy at once.
 */

type Token = { star: true } | { star: false; ch: string };

/** Above this many simultaneously active wildcard positions the filter is rejected. */
export const WILDCARD_COMPLEXITY_LIMIT = 10;

/** Tokenises a wildcard filter; returns an error message when it is malformed. */
export function parseWildcard(pattern: string): Token[] | string {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') return `consecutive wildcard characters at position ${i}`;
      out.push({ star: true });
    } else if (c === '\\') {
      const n = pattern[i + 1];
      if (n !== '*' && n !== '\\') return `invalid escape character at position ${i}`;
      out.push({ star: false, ch: n });
      i++;
    } else {
      out.push({ star: false, ch: c });
    }
  }
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** Compiles a (valid) wildcard filter into an anchored regular expression. */
export function wildcardRegExp(tokens: Token[]): RegExp {
  let src = '^';
  for (const t of tokens) src += t.star ? '[\\s\\S]*' : escapeRe(t.ch);
  return new RegExp(src + '$');
}

/**
 * Simulates the NFA of all the wildcard filters on one field over a representative alphabet and
 * returns the maximum number of active states that lie after a wildcard (capped at limit + 1).
 */
export function wildcardComplexity(patterns: Token[][], limit = WILDCARD_COMPLEXITY_LIMIT): number {
  // Quotes delimit the value, as in event-ruler's byte machines.
  const pats = patterns.map((p): Token[] => [{ star: false, ch: '"' }, ...p, { star: false, ch: '"' }]);
  const offsets: number[] = [];
  let total = 0;
  for (const p of pats) {
    offsets.push(total);
    total += p.length + 1;
  }
  const firstStar = pats.map((p) => p.findIndex((t) => t.star));
  if (firstStar.every((i) => i < 0)) return 0;
  const alphabet = new Set<string>(['\u0000']);
  for (const p of pats) for (const t of p) if (!t.star) alphabet.add(t.ch);

  const closure = (states: Set<number>) => {
    for (let pi = 0; pi < pats.length; pi++) {
      const p = pats[pi]!;
      const off = offsets[pi]!;
      for (let i = 0; i < p.length; i++) if (states.has(off + i) && p[i]!.star) states.add(off + i + 1);
    }
    return states;
  };
  const weight = (states: Set<number>) => {
    let w = 0;
    for (let pi = 0; pi < pats.length; pi++) {
      const fs = firstStar[pi]!;
      if (fs < 0) continue;
      const off = offsets[pi]!;
      for (let i = fs + 1; i <= pats[pi]!.length; i++) if (states.has(off + i)) w++;
    }
    return w;
  };
  const start = closure(new Set(offsets));
  const seen = new Set<string>();
  const queue: Set<number>[] = [start];
  let max = weight(start);
  let explored = 0;
  while (queue.length && explored < 5_000) {
    const cur = queue.pop()!;
    explored++;
    for (const c of alphabet) {
      const next = new Set<number>();
      for (let pi = 0; pi < pats.length; pi++) {
        const p = pats[pi]!;
        const off = offsets[pi]!;
        for (let i = 0; i < p.length; i++) {
          if (!cur.has(off + i)) continue;
          const t = p[i]!;
          if (t.star) next.add(off + i);
          else if (t.ch === c) next.add(off + i + 1);
        }
      }
      if (!next.size) continue;
      closure(next);
      const w = weight(next);
      if (w > max) max = w;
      if (max > limit) return max;
      const key = [...next].sort((a, b) => a - b).join(',');
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(next);
      }
    }
  }
  return max;
}
