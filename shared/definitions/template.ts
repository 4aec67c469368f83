/**
 * `{{ }}` templates in journey actions: `{{ traits.firstName }}`, `{{ computed.lifetime_revenue }}`,
 * `{{ event.properties.order_id }}`, `{{ journey.name }}`, `{{ profile.id }}`, `{{ coupon.code }}`, with filters
 * `| default: "there"`, `| upcase`, `| downcase`, `| capitalize`. A missing value (absent, null or
 * empty) renders the default or the empty string; the raw `{{ }}` is never rendered.
 */
import { getPath } from './path';
import { COUPON_TEMPLATE_FIELDS, JOURNEY_TEMPLATE_FIELDS, MESSAGE_ROOTS, PROFILE_TEMPLATE_FIELDS, TEMPLATE_ROOTS, type Json } from './types';

export const FILTERS = ['default', 'upcase', 'downcase', 'capitalize'] as const;
type Filter = { name: 'default'; arg: string | number } | { name: 'upcase' | 'downcase' | 'capitalize' };

export interface TemplateExpr {
  /** The path as written, e.g. `traits.firstName`. */
  path: string;
  root: string;
  segments: string[];
  filters: Filter[];
}
export type TemplatePart = string | TemplateExpr;

export interface TemplateContext {
  traits?: Record<string, unknown>;
  computed?: Record<string, unknown>;
  /** The triggering event (the bus event's `detail`: the normalised message). */
  event?: Record<string, unknown>;
  journey?: { id?: string; name?: string; start?: string; step?: string };
  profile?: { id?: string };
  /** The code the run's coupon step issued (docs/journeys.md#coupons). */
  coupon?: { code?: string; pool?: string };
}

export interface RenderOptions {
  /** `html`: escape `& < > " '` in every substituted value (email bodies); `url`: percent-encode. */
  escape?: 'html' | 'url' | 'none';
}

const SEGMENT_RE = /^[A-Za-z0-9_$@-]+$/;

function parseFilter(text: string): Filter | string {
  const m = /^([a-z]+)\s*(?::\s*(.*))?$/s.exec(text.trim());
  if (!m) return `"${text.trim()}" is not a filter (filters: ${FILTERS.join(', ')})`;
  const name = m[1]!;
  const arg = m[2]?.trim();
  if (name === 'default') {
    if (arg === undefined || arg === '') return 'default needs a value, e.g. | default: "there"';
    const q = /^"((?:[^"\\]|\\.)*)"$|^'((?:[^'\\]|\\.)*)'$/.exec(arg);
    if (q) return { name, arg: (q[1] ?? q[2] ?? '').replace(/\\(.)/g, '$1') };
    if (/^-?\d+(\.\d+)?$/.test(arg)) return { name, arg: Number(arg) };
    return `default value must be quoted, e.g. | default: "there" (got ${arg})`;
  }
  if (name === 'upcase' || name === 'downcase' || name === 'capitalize') {
    if (arg !== undefined) return `${name} takes no value`;
    return { name };
  }
  return `"${name}" is not a filter (filters: ${FILTERS.join(', ')})`;
}

/** Checks the path of one expression against the template roots; returns an error or null. */
export function checkTemplatePath(root: string, segments: string[]): string | null {
  if (!(TEMPLATE_ROOTS as readonly string[]).includes(root)) return `unknown root "${root}" (use ${TEMPLATE_ROOTS.map((r) => r + '.').join(', ')})`;
  if (!segments.length) return `name a field: {{ ${root}.<field> }}`;
  switch (root) {
    case 'computed':
      if (segments.length !== 1) return `{{ computed.<id> }} takes one name, not ${segments.join('.')}`;
      return null;
    case 'journey':
      if (segments.length !== 1 || !(JOURNEY_TEMPLATE_FIELDS as readonly string[]).includes(segments[0]!))
        return `journey has the fields ${JOURNEY_TEMPLATE_FIELDS.join(', ')}, not "${segments.join('.')}"`;
      return null;
    case 'profile':
      if (segments.length !== 1 || !(PROFILE_TEMPLATE_FIELDS as readonly string[]).includes(segments[0]!))
        return `profile has the fields ${PROFILE_TEMPLATE_FIELDS.join(', ')}, not "${segments.join('.')}"`;
      return null;
    case 'coupon':
      if (segments.length !== 1 || !(COUPON_TEMPLATE_FIELDS as readonly string[]).includes(segments[0]!))
        return `coupon has the fields ${COUPON_TEMPLATE_FIELDS.join(', ')}, not "${segments.join('.')}"`;
      return null;
    case 'event':
      if (!(MESSAGE_ROOTS as readonly string[]).includes(segments[0]!)) return `the event has no field "${segments[0]}" (use ${MESSAGE_ROOTS.join(', ')})`;
      return null;
    default:
      return null;
  }
}

/**
 * Parses a template. Errors (unclosed `{{`, empty expression, bad path, unknown root or filter) are
 * returned, not thrown; with `lenient`, a broken expression becomes the empty string.
 */
export function parseTemplate(text: string): { parts: TemplatePart[]; errors: string[] } {
  const parts: TemplatePart[] = [];
  const errors: string[] = [];
  let i = 0;
  let lit = '';
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      lit += text.slice(i);
      break;
    }
    lit += text.slice(i, open);
    const close = text.indexOf('}}', open + 2);
    if (close < 0) {
      errors.push(`"{{" at position ${open} is not closed with "}}"`);
      break;
    }
    const inner = text.slice(open + 2, close);
    i = close + 2;
    const [pathText = '', ...filterTexts] = inner.split('|');
    const path = pathText.trim();
    if (!path) {
      errors.push('empty {{ }}');
      continue;
    }
    const segs = path.split('.');
    if (!segs.every((s) => SEGMENT_RE.test(s))) {
      errors.push(`{{ ${inner.trim()} }}: "${path}" is not a dotted path`);
      continue;
    }
    const [root, ...segments] = segs as [string, ...string[]];
    const bad = checkTemplatePath(root, segments);
    if (bad) {
      errors.push(`{{ ${inner.trim()} }}: ${bad}`);
      continue;
    }
    const filters: Filter[] = [];
    let ok = true;
    for (const ft of filterTexts) {
      const f = parseFilter(ft);
      if (typeof f === 'string') {
        errors.push(`{{ ${inner.trim()} }}: ${f}`);
        ok = false;
        break;
      }
      filters.push(f);
    }
    if (!ok) continue;
    if (lit) parts.push(lit);
    lit = '';
    parts.push({ path, root, segments, filters });
  }
  if (lit) parts.push(lit);
  return { parts, errors };
}

const cache = new Map<string, TemplatePart[]>();
function compiled(text: string): TemplatePart[] {
  let parts = cache.get(text);
  if (!parts) {
    parts = parseTemplate(text).parts;
    if (cache.size > 5000) cache.clear();
    cache.set(text, parts);
  }
  return parts;
}

/** Every expression in a template (for cross-checking `computed.<id>` references). */
export function templateExpressions(text: string): TemplateExpr[] {
  return parseTemplate(text).parts.filter((p): p is TemplateExpr => typeof p !== 'string');
}

function lookup(expr: TemplateExpr, ctx: TemplateContext): unknown {
  const root = (ctx as Record<string, unknown>)[expr.root];
  return getPath(root, expr.segments);
}

const isMissing = (v: unknown) => v === undefined || v === null || v === '';

function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isMissing(v)) return '';
  return JSON.stringify(v);
}

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function escapeFor(s: string, how: RenderOptions['escape']): string {
  if (how === 'html') return s.replace(/[&<>"']/g, (c) => HTML[c]!);
  if (how === 'url') return encodeURIComponent(s);
  return s;
}

function evalExpr(expr: TemplateExpr, ctx: TemplateContext): unknown {
  let v = lookup(expr, ctx);
  for (const f of expr.filters) {
    if (f.name === 'default') {
      if (isMissing(v)) v = f.arg;
      continue;
    }
    if (isMissing(v)) continue;
    const s = toText(v);
    v = f.name === 'upcase' ? s.toUpperCase() : f.name === 'downcase' ? s.toLowerCase() : s.charAt(0).toUpperCase() + s.slice(1);
  }
  return v;
}

/**
 * Renders `template` for one person. Missing values render as their `| default:` or as the empty
 * string; a broken expression renders as the empty string. Never returns `{{`/`}}` from the template.
 */
export function renderTemplate(template: string, ctx: TemplateContext, opts: RenderOptions = {}): string {
  let out = '';
  for (const p of compiled(template)) out += typeof p === 'string' ? p : escapeFor(toText(evalExpr(p, ctx)), opts.escape);
  return out;
}

/**
 * Renders every string inside a JSON value (webhook bodies, trait values, event properties). A string
 * that is exactly one `{{ }}` expression without text around it keeps the value's JSON type (a number
 * stays a number); missing, it becomes the default or "".
 */
export function renderValue(value: Json, ctx: TemplateContext, opts: RenderOptions = {}): Json {
  if (typeof value === 'string') {
    const parts = compiled(value);
    if (parts.length === 1 && typeof parts[0] !== 'string' && value.trim().startsWith('{{') && value.trim().endsWith('}}')) {
      const v = evalExpr(parts[0]!, ctx);
      if (isMissing(v)) return '';
      if (typeof v === 'number' || typeof v === 'boolean') return v;
      if (typeof v === 'string') return escapeFor(v, opts.escape);
      return JSON.parse(JSON.stringify(v)) as Json;
    }
    return renderTemplate(value, ctx, opts);
  }
  if (Array.isArray(value)) return value.map((v) => renderValue(v, ctx, opts));
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderValue(v, ctx, opts);
    return out;
  }
  return value;
}
