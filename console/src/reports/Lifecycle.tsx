/**
 * Lifecycle (AARRR) over time: the lifecycle report for consecutive windows (default six of 14 days,
 * the last ending today), people per stage in each, as lines; the latest window as a table too.
 */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../api/lake';
import { DataTable } from '../components/DataTable';
import { LakeStatus } from '../components/LakeStatus';
import { useFormat } from '../i18n/format';
import { Chart } from './Chart';
import { daysAgo, Options } from './Options';
import { pct } from './Funnel';

export const STAGES = ['acquisition', 'activation', 'retention', 'revenue', 'referral'] as const;

interface Window {
  since: string;
  until: string;
}

/** `count` consecutive windows of `days` days, the last ending on `end` (YYYY-MM-DD), oldest first. */
export function windows(end: string, days: number, count: number): Window[] {
  const t = Date.parse(`${end}T00:00:00Z`);
  const day = (n: number) => new Date(t - n * 86_400_000).toISOString().slice(0, 10);
  return Array.from({ length: count }, (_, i) => ({ since: day((count - i) * days - 1), until: day((count - 1 - i) * days) }));
}

export default function LifecycleReport() {
  const { t } = useTranslation();
  const f = useFormat();
  const [o, setO] = useState<Record<string, string>>({ until: daysAgo(0), days: '14', count: '6' });
  const [column, setColumn] = useState<'all_people' | 'new_people'>('all_people');
  const ws = useMemo(
    () => windows(o.until || daysAgo(0), Math.min(90, Math.max(1, Number(o.days) || 14)), Math.min(12, Math.max(1, Number(o.count) || 6))),
    [o],
  );
  // Every window in one lake query (one scan of the lake, not one per window): rows name their window.
  const last = ws[ws.length - 1]!;
  const run = useLakeQuery({ query: 'lifecycle', options: { since: last.since, until: last.until, windows: String(ws.length) } });
  const rows = useMemo(() => rowsOf(run.result), [run.result]);
  const byStage = (w: Window, stage: string) => num(rows.find((r) => r.window_until === w.until && r.stage === stage)?.[column]) ?? null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the rows and the column drive it
  const option = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      grid: { left: 50, right: 20, top: 20, bottom: 60 },
      xAxis: { type: 'category', data: ws.map((w) => f.date(`${w.until}T12:00:00Z`)) },
      yAxis: { type: 'value', name: t('reports.people') },
      series: STAGES.map((s) => ({
        type: 'line',
        name: t(`reports.lifecycle.stage.${s}`),
        data: ws.map((w) => byStage(w, s)),
        connectNulls: false,
        symbolSize: 7,
      })),
    }),
    [ws, rows, column, t, f],
  );
  const lastRows = rows.filter((r) => r.window_until === last.until);
  return (
    <>
      <Options
        initial={o}
        onApply={setO}
        fields={[
          { name: 'until', label: t('reports.lifecycle.lastDay'), type: 'date' },
          { name: 'days', label: t('reports.lifecycle.days'), type: 'number', min: 1, max: 90 },
          { name: 'count', label: t('reports.lifecycle.count'), type: 'number', min: 1, max: 12 },
        ]}
      />
      <fieldset className="row">
        <legend>{t('reports.lifecycle.who')}</legend>
        {(['all_people', 'new_people'] as const).map((c) => (
          <label key={c} className="row">
            <input type="radio" name="lifecycle-column" checked={column === c} onChange={() => setColumn(c)} />
            {t(`reports.lifecycle.${c}`)}
          </label>
        ))}
      </fieldset>
      <LakeStatus run={run} />
      {run.result && <Chart option={option} label={t('reports.lifecycle.chart', { windows: ws.length })} height={360} />}
      {run.result && (
        <DataTable
          caption={t('reports.lifecycle.table', { since: last.since, until: last.until })}
          rows={lastRows}
          columns={[
            {
              key: 'stage',
              header: t('reports.lifecycle.stageLabel'),
              render: (r) => t(`reports.lifecycle.stage.${String(r.stage) as (typeof STAGES)[number]}`),
            },
            { key: 'new_people', header: t('reports.lifecycle.new_people'), numeric: true, render: (r) => f.number(num(r.new_people) ?? 0) },
            { key: 'new_pct', header: t('reports.share'), numeric: true, render: (r) => pct(f, r.new_pct) },
            { key: 'all_people', header: t('reports.lifecycle.all_people'), numeric: true, render: (r) => f.number(num(r.all_people) ?? 0) },
            { key: 'all_pct', header: t('reports.share'), numeric: true, render: (r) => pct(f, r.all_pct) },
          ]}
        />
      )}
    </>
  );
}
