/** Funnel: people reaching each step in order (the funnel report), as a funnel chart and a table. */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../api/lake';
import { DataTable } from '../components/DataTable';
import { LakeStatus } from '../components/LakeStatus';
import { useFormat } from '../i18n/format';
import { Chart } from './Chart';
import { dateRange, Options } from './Options';

export const DEFAULT_STEPS = 'Product Viewed,Added to Cart,Checkout Started,Order Completed';

export default function FunnelReport() {
  const { t } = useTranslation();
  const f = useFormat();
  const [o, setO] = useState<Record<string, string>>({ steps: DEFAULT_STEPS, within: '7d', since: '', until: '' });
  const run = useLakeQuery({ query: 'funnel', options: o });
  const rows = rowsOf(run.result);
  const option = useMemo(
    () => ({
      tooltip: { trigger: 'item' },
      series: [
        {
          type: 'funnel',
          sort: 'none',
          left: '10%',
          width: '80%',
          minSize: '8%',
          color: ['#174a96', '#1f5fbf', '#3f78cf', '#5f8fd8', '#7ea6e1', '#9dbcea', '#bcd2f2'],
          label: {
            show: true,
            position: 'inside',
            color: '#fff',
            textBorderColor: '#0d2d5c',
            textBorderWidth: 2,
            formatter: (p: { name: string; value: number }) => `${p.name}\n${f.number(p.value)}`,
          },
          data: rows.map((r) => ({ name: String(r.event), value: num(r.people) ?? 0 })),
        },
      ],
    }),
    [rows, f],
  );
  return (
    <>
      <Options
        initial={o}
        onApply={setO}
        fields={[
          { name: 'steps', label: t('reports.funnel.steps'), hint: t('reports.funnel.stepsHint') },
          { name: 'within', label: t('reports.funnel.within'), hint: t('reports.funnel.withinHint') },
          ...dateRange(t),
        ]}
      />
      <LakeStatus run={run} />
      {run.result && (
        <>
          <Chart option={option} label={t('reports.funnel.chart', { steps: rows.map((r) => `${r.event} ${f.number(num(r.people) ?? 0)}`).join(', ') })} />
          <DataTable
            caption={t('reports.funnel.table')}
            rows={rows}
            columns={[
              { key: 'step', header: t('reports.funnel.step'), numeric: true },
              { key: 'event', header: t('reports.funnel.event') },
              { key: 'people', header: t('reports.people'), numeric: true, render: (r) => f.number(num(r.people) ?? 0) },
              { key: 'conversion_pct', header: t('reports.funnel.conversion'), numeric: true, render: (r) => pct(f, r.conversion_pct) },
              { key: 'from_previous_pct', header: t('reports.funnel.fromPrevious'), numeric: true, render: (r) => pct(f, r.from_previous_pct) },
              {
                key: 'drop_off',
                header: t('reports.funnel.dropOff'),
                numeric: true,
                render: (r) => (num(r.drop_off) === null ? '' : f.number(num(r.drop_off)!)),
              },
              {
                key: 'median_seconds_from_previous',
                header: t('reports.funnel.median'),
                numeric: true,
                render: (r) => (num(r.median_seconds_from_previous) === null ? '' : f.number(Math.round(num(r.median_seconds_from_previous)! / 60))),
              },
            ]}
          />
        </>
      )}
    </>
  );
}

/** A percentage cell: blank when there is none (never 0%). */
export const pct = (f: ReturnType<typeof useFormat>, v: unknown): string => {
  const n = typeof v === 'number' ? v : v === null || v === undefined || v === '' ? null : Number(v);
  return n === null || Number.isNaN(n) ? '' : `${f.number(n)}%`;
};
