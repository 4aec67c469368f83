/**
 * `--html <file>`: one self-contained HTML page per report: title, parameters, generation time, a
 * chart as inline SVG and the full table. No scripts, no external style sheets, fonts or images, so
 * it opens offline and can be mailed. Every value from the lake is escaped (text and attributes).
 */
import type { Cell, QueryResult } from '#shared/reports';
import { cellText } from '../format';

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!);
}

/** Which columns a chart plots: a label column and one or more numeric series. */
export interface ChartSpec {
  /** Column (or columns, joined by ` · `) naming each bar group. */
  label: string[];
  /** Numeric columns, one bar each per row. */
  series: string[];
  /** Optional title above the chart. */
  title?: string;
}

export interface HtmlReport {
  title: string;
  /** Parameters shown under the title (name → value), e.g. since/until, steps. */
  params: [string, string][];
  result: QueryResult;
  chart?: ChartSpec;
  generatedAt: Date;
  /** Extra sentences under the table (definitions, caveats). */
  notes?: string[];
}

const COLORS = ['#2f6fb3', '#e0863a', '#4a9a5b', '#a8508c'];
const MAX_BARS = 60;

/** The first text column and the numeric columns after it, when the report has no chart of its own. */
export function defaultChart(result: QueryResult): ChartSpec | undefined {
  const idx = (pred: (v: Cell) => boolean) =>
    result.columns.map((_, i) => i).filter((i) => result.rows.length > 0 && result.rows.every((r) => r[i] === null || pred(r[i]!)));
  const text = idx((v) => typeof v === 'string');
  const nums = idx((v) => typeof v === 'number');
  if (!text.length || !nums.length) return undefined;
  return { label: [result.columns[text[0]!]!.name], series: [result.columns[nums[0]!]!.name] };
}

/** A horizontal bar chart as SVG (rows top to bottom, one bar per series). */
export function svgBarChart(result: QueryResult, spec: ChartSpec): string {
  const col = (name: string) => result.columns.findIndex((c) => c.name === name);
  const labelIdx = spec.label.map(col).filter((i) => i >= 0);
  const seriesIdx = spec.series.map(col).filter((i) => i >= 0);
  const rows = result.rows.slice(0, MAX_BARS);
  if (!rows.length || !seriesIdx.length) return '';
  const value = (r: Cell[], i: number) => (typeof r[i] === 'number' ? (r[i] as number) : Number(r[i]) || 0);
  const max = Math.max(0, ...rows.flatMap((r) => seriesIdx.map((i) => value(r, i))));
  const barH = 16;
  const gap = 8;
  const labelW = 220;
  const plotW = 460;
  const valueW = 80;
  const groupH = seriesIdx.length * barH + gap;
  const legendH = seriesIdx.length > 1 ? 24 : 0;
  const height = legendH + rows.length * groupH + gap;
  const width = labelW + plotW + valueW;
  const parts: string[] = [];
  if (legendH) {
    seriesIdx.forEach((s, k) => {
      const x = labelW + k * 160;
      parts.push(
        `<rect x="${x}" y="4" width="12" height="12" fill="${COLORS[k % COLORS.length]}"/>`,
        `<text x="${x + 16}" y="14">${escapeHtml(result.columns[s]!.name)}</text>`,
      );
    });
  }
  rows.forEach((r, j) => {
    const y0 = legendH + gap + j * groupH;
    const label = labelIdx.map((i) => cellText(r[i])).join(' · ');
    const short = [...label].length > 32 ? [...label].slice(0, 31).join('') + '…' : label;
    parts.push(
      `<text x="${labelW - 8}" y="${y0 + (seriesIdx.length * barH) / 2 + 4}" text-anchor="end"><title>${escapeHtml(label)}</title>${escapeHtml(short)}</text>`,
    );
    seriesIdx.forEach((s, k) => {
      const v = value(r, s);
      const w = max > 0 ? Math.max(0, (v / max) * plotW) : 0;
      const y = y0 + k * barH;
      parts.push(
        `<rect class="bar" x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${COLORS[k % COLORS.length]}"><title>${escapeHtml(`${label} — ${result.columns[s]!.name}: ${cellText(r[s])}`)}</title></rect>`,
        `<text x="${(labelW + w + 4).toFixed(1)}" y="${y + barH - 4}">${escapeHtml(cellText(r[s]))}</text>`,
      );
    });
  });
  const title = spec.title ?? `${spec.series.join(', ')} by ${spec.label.join(' · ')}`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">` +
    `<title>${escapeHtml(title)}</title>${parts.join('')}</svg>`
  );
}

function table(result: QueryResult): string {
  const numeric = result.columns.map((_, i) => result.rows.length > 0 && result.rows.every((r) => r[i] === null || typeof r[i] === 'number'));
  const head = result.columns.map((c) => `<th scope="col">${escapeHtml(c.name)}</th>`).join('');
  const body = result.rows
    .map((r) => `<tr>${result.columns.map((_, i) => `<td${numeric[i] ? ' class="num"' : ''}>${escapeHtml(cellText(r[i]))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const STYLE = [
  'body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2430;max-width:1100px}',
  'h1{font-size:1.5rem;margin:0 0 .5rem}',
  'dl.params{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;margin:0 0 1.5rem;font-size:.9rem}',
  'dl.params dt{color:#5b6472}dl.params dd{margin:0}',
  'figure{margin:0 0 1.5rem}svg text{fill:#1d2430}',
  'table{border-collapse:collapse;font-size:.85rem}th,td{border-bottom:1px solid #d8dde5;padding:.25rem .6rem;text-align:left}',
  'td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f4f7}',
  'p.note{color:#5b6472;font-size:.85rem;max-width:70ch}',
].join('');

/** The whole page. */
export function renderHtmlReport(r: HtmlReport): string {
  const chart = r.chart ?? defaultChart(r.result);
  const svg = chart ? svgBarChart(r.result, chart) : '';
  const when = r.generatedAt.toISOString();
  const params = [...r.params, ['rows', String(r.result.rows.length)] as [string, string]];
  return (
    [
      '<!DOCTYPE html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      // No scripts or remote loads at all, even if an escaping bug slipped through.
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
      `<meta name="generator" content="cairn report">`,
      `<title>${escapeHtml(r.title)}</title>`,
      `<style>${STYLE}</style>`,
      '</head>',
      '<body>',
      `<h1>${escapeHtml(r.title)}</h1>`,
      `<dl class="params">${params.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}<dt>generated</dt><dd><time datetime="${escapeHtml(when)}">${escapeHtml(when)}</time></dd></dl>`,
      svg ? `<figure class="chart">${svg}</figure>` : '',
      table(r.result),
      ...(r.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`),
      '</body>',
      '</html>',
    ]
      .filter((l) => l !== '')
      .join('\n') + '\n'
  );
}
