/**
 * Retention: weekly cohorts as a heat map (cohort week × weeks since), and the same as a table. A week
 * that has not happened yet is blank in both — no cell, no "0%" — as the report leaves it null.
 */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../api/lake';
import { type ColumnDef, DataTable } from '../components/DataTable';
import { LakeStatus } from '../components/LakeStatus';
import { useFormat } from '../i18n/format';
import { Chart } from './Chart';
import { Options } from './Options';

export interface Cohort {
  week: string;
  size: number;
  /** retained % per week number; null: that week has not happened yet. */
  pct: (number | null)[];
}

/** The report's rows as cohorts (week numbers 0..n in order). */
export function cohortsOf(rows: Record<string, unknown>[]): Cohort[] {
  const by = new Map<string, Cohort>();
  for (const r of rows) {
    const week = String(r.cohort_week);
    const c = by.get(week) ?? { week, size: num(r.cohort_size as number) ?? 0, pct: [] };
    c.pct[num(r.week_number as number) ?? 0] = num(r.retained_pct as number);
    by.set(week, c);
  }
  return [...by.values()].sort((a, b) => a.week.localeCompare(b.week));
}

export default function RetentionReport() {
  const { t } = useTranslation();
  const f = useFormat();
  const [o, setO] = useState<Record<string, string>>({ weeks: '8', since: '' });
  const run = useLakeQuery({ query: 'retention', options: o });
  const cohorts = useMemo(() => cohortsOf(rowsOf(run.result)), [run.result]);
  const weeks = Math.max(0, ...cohorts.map((c) => c.pct.length));
  const weekNumbers = Array.from({ length: weeks }, (_, i) => i);
  const option = useMemo(
    () => ({
      tooltip: {
        formatter: (p: { value: [number, number, number] }) =>
          `${cohorts[p.value[1]]?.week} · ${t('reports.retention.week', { n: p.value[0] })}: ${f.number(p.value[2])}%`,
      },
      grid: { left: 150, right: 20, top: 10, bottom: 70 },
      xAxis: { type: 'category', data: Array.from({ length: weeks }, (_, i) => t('reports.retention.week', { n: i })), splitArea: { show: true } },
      yAxis: { type: 'category', inverse: true, data: cohorts.map((c) => `${c.week} (${f.number(c.size)})`), splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: 100,
        calculable: false,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        inRange: { color: ['#eef4fc', '#1f5fbf'] },
      },
      series: [
        {
          type: 'heatmap',
          // A week not happened yet has no cell at all.
          data: cohorts.flatMap((c, y) => c.pct.flatMap((p, x) => (p === null || p === undefined ? [] : [[x, y, p]]))),
          label: { show: true, formatter: (p: { value: [number, number, number] }) => `${Math.round(p.value[2])}%` },
        },
      ],
    }),
    [cohorts, weeks, t, f],
  );
  return (
    <>
      <Options
        initial={o}
        onApply={setO}
        fields={[
          { name: 'weeks', label: t('reports.retention.weeks'), type: 'number', min: 1, max: 26 },
          { name: 'since', label: t('reports.since'), type: 'date' },
        ]}
      />
      <LakeStatus run={run} />
      {run.result && (
        <>
          <p className="muted small">{t('reports.retention.note')}</p>
          <Chart option={option} label={t('reports.retention.chart', { cohorts: cohorts.length })} height={Math.max(260, 60 + cohorts.length * 34)} />
          <DataTable
            className="cohorts"
            caption={t('reports.retention.table')}
            rows={cohorts}
            rowKey={(c) => c.week}
            empty={false}
            columns={[
              { key: 'week', header: t('reports.retention.cohort'), rowHeader: true },
              { key: 'size', header: t('reports.people'), numeric: true, render: (c) => f.number(c.size) },
              ...weekNumbers.map(
                (n): ColumnDef<Cohort> => ({
                  key: `week-${n}`,
                  header: t('reports.retention.week', { n }),
                  numeric: true,
                  render: (c) => {
                    const p = c.pct[n];
                    return p === null || p === undefined ? <span className="sr-only">{t('reports.retention.future')}</span> : `${f.number(p)}%`;
                  },
                  cell: (c) => {
                    const p = c.pct[n];
                    const future = p === null || p === undefined;
                    return { className: 'heat', 'data-week': n, 'data-state': future ? 'future' : 'past', style: future ? undefined : { background: heat(p) } };
                  },
                }),
              ),
            ]}
          />
        </>
      )}
    </>
  );
}

/** A cell's background for a share (light to the accent blue, text stays readable: dark text to 55%). */
function heat(p: number): string {
  const a = Math.max(0, Math.min(1, p / 100)) * 0.55;
  return `rgba(31, 95, 191, ${a.toFixed(2)})`;
}
