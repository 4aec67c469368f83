/**
 * Every string of the console in both languages (console/src/i18n): zh-CN has exactly the keys of
 * English (the compiler checks the shape; this checks nothing extra or missing at run time too),
 * no zh-CN text is left in English, and every key the source asks for exists.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { en } from '#console/src/i18n/en';
import { zhCN } from '#console/src/i18n/zh-CN';

const flat = (o: object, prefix = ''): Record<string, string> =>
  Object.fromEntries(Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [[prefix + k, v]] : Object.entries(flat(v as object, `${prefix}${k}.`)))));
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : /\.tsx?$/.test(f) ? [join(dir, f)] : []));

/** Texts that are the same in both languages: names, symbols, placeholders. */
const SAME = new Set(['YAML', 'RFM', '≥', '>', '≤', '<', '=', '≠', '{{page}}']);

describe('the console in two languages', () => {
  const E = flat(en);
  const Z = flat(zhCN);

  it('zh-CN has every key of English and no other', () => {
    expect(Object.keys(Z).sort()).toEqual(Object.keys(E).sort());
  });

  it('no zh-CN text is left in English', () => {
    const untranslated = Object.keys(E).filter((k) => Z[k] === E[k] && !SAME.has(E[k]!));
    expect(untranslated).toEqual([]);
    for (const [k, v] of Object.entries(Z)) expect(v.match(/{{\w+}}/g)?.sort(), k).toEqual(E[k]!.match(/{{\w+}}/g)?.sort());
  });

  it('every key the source asks for exists (plural keys by their _one/_other forms)', () => {
    const used = new Set<string>();
    for (const f of files('console/src')) for (const m of readFileSync(f, 'utf8').matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(50);
    const missing = [...used].filter((k) => !(k in E) && !(`${k}_other` in E) && !Object.keys(E).some((x) => x.startsWith(`${k}.`)));
    expect(missing).toEqual([]);
  });
});
