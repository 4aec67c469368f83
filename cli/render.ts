/**
 * Readable renderings of admin API answers: the status report and a profile.
 * Both are tolerant of extra or missing fields, so a newer server still prints sensibly.
 */
import type { Cell } from './lake';
import { cellText, formatTable, keyValues } from './format';
import { isPlainObject } from '#shared/lang';

type Obj = Record<string, unknown>;
const scalar = (v: unknown): string =>
  v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' ? fmtNumber(v) : JSON.stringify(v);

function fmtNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Math.round(n * 100) / 100);
}

/** Headline from a snake/camel key: `eventsPerSecond` → `events per second`. */
const label = (k: string) =>
  k
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase();

/** A table from a list of objects, or from an object of objects (the key becomes the first column). */
function tableOf(rows: Obj[], firstColumn?: string): string {
  const names: string[] = firstColumn ? [firstColumn] : [];
  for (const r of rows) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  const cells = rows.map((r) => names.map((n) => toCell(r[n])));
  return formatTable({ columns: names.map((name) => ({ name, type: '' })), rows: cells }, 60).replace(/\(\d+ rows?\)\n$/, '');
}
const toCell = (v: unknown): Cell => (v === undefined ? null : typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : (v as Cell));

/** Renders any JSON status document: scalars as `key  value`, collections as tables. */
export function renderStatus(status: unknown, lake?: { events?: number; quarantined: number }): string {
  let out = '';
  const scalars: [string, string][] = [];
  const sections: string[] = [];
  if (isPlainObject(status)) {
    for (const [k, v] of Object.entries(status)) {
      if (Array.isArray(v) && v.length && v.every(isPlainObject)) sections.push(`${label(k)}\n${tableOf(v as Obj[])}`);
      else if (isPlainObject(v) && Object.keys(v).length && Object.values(v).every(isPlainObject)) {
        const key = label(k).replace(/s$/, '');
        sections.push(
          `${label(k)}\n${tableOf(
            Object.entries(v).map(([name, o]) => ({ [key]: name, ...(o as Obj) })),
            key,
          )}`,
        );
      } else if (isPlainObject(v))
        scalars.push([
          label(k),
          Object.entries(v)
            .map(([a, b]) => `${a}=${b === null ? '-' : scalar(b)}`)
            .join(', ') || '-',
        ]);
      else if (v === null || (Array.isArray(v) && v.length === 0)) scalars.push([label(k), '-']);
      else scalars.push([label(k), scalar(v)]);
    }
  }
  if (lake) {
    if (lake.events !== undefined) scalars.push(['lake events', String(lake.events)]);
    scalars.push(['quarantined', String(lake.quarantined)]);
  }
  out += keyValues(scalars);
  for (const s of sections) out += `\n${s}`;
  return out;
}

/** Profile shape of the admin API (docs/api.md#admin-api), read leniently. */
export function renderProfile(p: unknown): string {
  const o = isPlainObject(p) ? p : {};
  const lines: [string, string][] = [['profile', scalar(o.profileId)]];
  if (o.createdAt) lines.push(['created', scalar(o.createdAt)]);
  if (o.updatedAt) lines.push(['updated', scalar(o.updatedAt)]);
  const mergedFrom = Array.isArray(o.mergedFrom) ? o.mergedFrom.map(scalar) : [];
  lines.push(['merged from', mergedFrom.length ? mergedFrom.join(', ') : '-']);
  const segments = Array.isArray(o.segments) ? o.segments.map(scalar) : [];
  lines.push(['segments', segments.length ? segments.join(', ') : '-']);
  let out = keyValues(lines);

  const section = (title: string, entries: [string, string][]) => {
    out += `\n${title}\n` + (entries.length ? keyValues(entries, '  ') : '  -\n');
  };
  const ids = Array.isArray(o.identities) ? o.identities : [];
  section(
    'identities',
    ids.map((i): [string, string] => (isPlainObject(i) ? [scalar(i.type), scalar(i.value)] : ['', scalar(i)])),
  );
  const kv = (v: unknown): [string, string][] => (isPlainObject(v) ? Object.entries(v).map(([k, x]) => [k, cellText(x as Cell)]) : []);
  section('traits', kv(o.traits));
  section('computed', kv(o.computed));
  section(
    'consent',
    isPlainObject(o.consent)
      ? Object.entries(o.consent).map(([k, v]): [string, string] => [
          k,
          v === true
            ? 'granted'
            : v === false
              ? 'denied'
              : isPlainObject(v) && 'granted' in v
                ? `${v.granted ? 'granted' : 'denied'}${v.timestamp ? ` (${scalar(v.timestamp)})` : ''}`
                : scalar(v),
        ])
      : [],
  );
  const known = new Set(['profileId', 'createdAt', 'updatedAt', 'mergedFrom', 'segments', 'identities', 'traits', 'computed', 'consent']);
  const extra = Object.entries(o).filter(([k]) => !known.has(k));
  if (extra.length)
    section(
      'other',
      extra.map(([k, v]) => [k, cellText(v as Cell)]),
    );
  return out;
}
