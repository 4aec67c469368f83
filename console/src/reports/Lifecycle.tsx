/**
 * Lifecycle (AARRR) over time: the lifecycle report for consecutive windows (default six of 14 days,
 * the last ending today), people per stage in each, as lines; the latest window as a table too.
 */
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type LakeRun, num, rowsOf, useLakeQuery } from '../api/lake';
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

type Run = ReturnType<typeof useLakeQuery>;

function WindowRun({ w, onRun }: { w: Window; onRun: (key: string, run: Run) => void }) {
  const run = useLakeQuery({ query: 'lifecycle', options: { since: w.since, until: w.until } });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reported when its state or result changes
  useEffect(() => onRun(w.until, run), [run.state, run.result, run.progress.elapsedMs]);
  return null;
}

export default function LifecycleReport() {
  const { t } = useTranslation();
  const f = useFormat();
  const [o, setO] = useState<Record<string, string>>({ until: daysAgo(0), days: '14', count: '6' });
  const [runs, setRuns] = useState<Record<string, Run>>({});
  const [column, setColumn] = useState<'all_people' | 'new_people'>('all_people');
  const ws = useMemo(
    () => windows(o.until || daysAgo(0), Math.min(90, Math.max(1, Number(o.days) || 14)), Math.min(12, Math.max(1, Number(o.count) || 6))),
    [o],
  );
  const onRun = useMemo(() => (key: string, run: Run) => setRuns((r) => ({ ...r, [key]: run })), []);
  const current = ws.map((w) => runs[w.until]);
  const done = current.filter((r): r is Run => r?.state === 'succeeded');
  const busy = current.find((r) => r && r.state !== 'succeeded');
  const byStage = (run: LakeRun | undefined, stage: string) => num(rowsOf(run?.result).find((r) => r.stage === stage)?.[column]) ?? null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the runs' results and the column drive it
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
        data: current.map((r) => byStage(r, s)),
        connectNulls: false,
        symbolSize: 7,
      })),
    }),
    [ws, runs, column, t, f],
  );
  const last = current[current.length - 1];
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
      {ws.map((w) => (
        <WindowRun key={`${w.since}:${w.until}`} w={w} onRun={onRun} />
      ))}
      <fieldset className="row">
        <legend>{t('reports.lifecycle.who')}</legend>
        {(['all_people', 'new_people'] as const).map((c) => (
          <label key={c} className="row">
            <input type="radio" name="lifecycle-column" checked={column === c} onChange={() => setColumn(c)} />
            {t(`reports.lifecycle.${c}`)}
          </label>
        ))}
      </fieldset>
      {busy && <LakeStatus run={busy} label={t('reports.lifecycle.progress', { done: done.length, total: ws.length })} />}
      {!busy && last && <LakeStatus run={last} />}
      {done.length > 0 && <Chart option={option} label={t('reports.lifecycle.chart', { windows: ws.length })} height={360} />}
      {last?.result && (
        <DataTable
          caption={t('reports.lifecycle.table', { since: ws[ws.length - 1]!.since, until: ws[ws.length - 1]!.until })}
          rows={rowsOf(last.result)}
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
