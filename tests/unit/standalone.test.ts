/**
 * The repository stands alone: users clone it by itself, so no tracked text file may refer to a path
 * above the repository root — a `../` sequence, or `'..'` path segments (`join(__dirname, '..', …)`),
 * resolved from the file's own folder — or to an absolute machine path (the work or root folder, a
 * home folder). package-lock.json and binary files are not read.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..');

/** Path-like tokens holding a `../` step: `../x`, `a/../../b`, `../..`. */
const RELATIVE = /[\w.@~+-]*(?:\/[\w.@~+-]*)*\.\.\/[\w.@~+-]*(?:\/[\w.@~+-]*)*/g;
/** Runs of `'..'` / `".."` arguments, as in `join(__dirname, '..', '..', 'x')`. */
const SEGMENTS = /(['"`])\.\.\1(?:\s*,\s*(['"`])\.\.\2)*/g;
/** Absolute paths of one machine: the work or root folder, a home folder. */
const ABSOLUTE = /(?<![\w.@~+-])\/(?:work|root)\/|(?<![\w.@~+-])\/home\/[\w.-]+/g;

/** How many folders a relative path climbs above `fromDepth` at its deepest point (0: never). */
function climb(path: string, fromDepth: number): number {
  let depth = fromDepth;
  let lowest = depth;
  for (const seg of path.split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '.' && seg !== '') depth++;
    lowest = Math.min(lowest, depth);
  }
  return -lowest;
}

/** `file:line: what` for every reference in `text` (of the tracked file `file`) that leaves the repository. */
export function outsideReferences(file: string, text: string): string[] {
  const dir = posix.dirname(file);
  const depth = dir === '.' ? 0 : dir.split('/').length;
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    for (const m of line.matchAll(RELATIVE)) {
      const token = m[0];
      if (token.startsWith('/')) continue; // absolute, or the path of a URL
      if (climb(token, depth) > 0) out.push(`${at}: ${token} climbs above the repository root`);
    }
    for (const m of line.matchAll(SEGMENTS)) {
      const ups = m[0].split(',').length;
      if (ups > depth) out.push(`${at}: ${m[0]} climbs above the repository root`);
    }
    for (const m of line.matchAll(ABSOLUTE)) out.push(`${at}: absolute path ${m[0]}`);
  });
  return out;
}

const BINARY = /\.(png|jpe?g|gif|ico|webp|pdf|gz|zip|parquet|woff2?|ttf)$/i;
const isRepo = existsSync(join(root, '.git'));

describe('the repository stands alone', () => {
  it('finds references that leave the repository (the check can fail)', () => {
    const up = '..';
    const cases: [string, string, number][] = [
      ['README.md', `npx cairn apply ${up}/shared/examples`, 1],
      ['README.md', `see ${up}/main/README.md`, 1],
      ['tests/unit/x.test.ts', `new URL('${up}/${up}/${up}/shared/x.json', import.meta.url)`, 1],
      ['tests/unit/x.test.ts', `join(__dirname, '${up}', '${up}', '${up}', 'shared')`, 1],
      ['cli/x.ts', `const examples = '/${'work'}/shared/examples';`, 1],
      ['docs/x.md', `saved to /${'home'}/alice/x.csv and /${'root'}/.aws`, 2],
      // inside the repository, or not a path: fine
      ['tests/unit/x.test.ts', `import { a } from '${up}/${up}/shared/errors'; join(__dirname, '${up}', '${up}', 'examples')`, 0],
      ['docs/x.md', `[examples](${up}/examples/) and https://example.com/a/${up}/b, .../x`, 0],
      ['README.md', 'GET /v1/profiles/{identifier}; ~/.aws/credentials; https://example.com/home/x', 0],
    ];
    for (const [file, text, n] of cases) expect(outsideReferences(file, text), `${file}: ${text}`).toHaveLength(n);
  });

  it.skipIf(!isRepo)('no tracked file refers to a path outside the repository', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\0')
      .filter((f) => f && !/(^|\/)package-lock\.json$/.test(f) && !BINARY.test(f));
    expect(files.length).toBeGreaterThan(50);
    const found: string[] = [];
    for (const f of files) {
      let buf: Buffer;
      try {
        buf = readFileSync(join(root, f));
      } catch {
        continue; // deleted in the working tree
      }
      if (buf.includes(0)) continue; // binary
      found.push(...outsideReferences(f, buf.toString('utf8')));
    }
    expect(found, found.join('\n')).toEqual([]);
  });
});
