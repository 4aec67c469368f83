/**
 * A segment's size over time (docs/console.md, the Segment page): the lake query `segment-sizes`, one
 * count per day from the daily profile snapshots, as a line and a table. Started on request: it reads
 * every daily snapshot of the period (Athena bills what it scans).
 */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../api/lake';
import { DataTable } from '../components/DataTable';
import { LakeStatus } from '../components/LakeStatus';
import { useFormat } from '../i18n/format';
import { Chart } from '../reports/Chart';

export function SizeHistory({ segment }: { segment: string }) {
  const { t } = useTranslation();
  const f = useFormat();
  const [shown, setShown] = useState(false);
  const run = useLakeQuery(shown ? { query: 'segment-sizes', options: { segment } } : null);
  const rows = rowsOf(run.result);
  const option = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 50, right: 20, top: 20, bottom: 40 },
      xAxis: { type: 'category', data: rows.map((r) => f.date(`${String(r.day)}T12:00:00Z`)) },
      yAxis: { type: 'value', name: t('segments.history.members'), minInterval: 1 },
      series: [{ type: 'line', name: t('segments.history.members'), data: rows.map((r) => num(r.size)), symbolSize: 7 }],
    }),
    [rows, t, f],
  );
  const last = rows[rows.length - 1];
  return (
    <section className="card" aria-labelledby="h-history">
      <h2 id="h-history">{t('segments.history.title')}</h2>
      <p className="muted small">{t('segments.history.intro')}</p>
      {!shown && (
        <button type="button" className="button secondary" onClick={() => setShown(true)}>
          {t('segments.history.show')}
        </button>
      )}
      {shown && <LakeStatus run={run} />}
      {run.result && rows.length === 0 && <p>{t('segments.history.none')}</p>}
      {run.result && rows.length > 0 && (
        <>
          <Chart
            option={option}
            height={260}
            label={t('segments.history.chart', {
              days: rows.length,
              first: f.date(`${String(rows[0]!.day)}T12:00:00Z`),
              last: f.date(`${String(last!.day)}T12:00:00Z`),
              size: f.number(num(last!.size) ?? 0),
            })}
          />
          <DataTable
            caption={t('segments.history.table')}
            rows={[...rows].reverse()}
            rowKey={(r) => String(r.day)}
            columns={[
              { key: 'day', header: t('segments.history.day'), render: (r) => f.date(`${String(r.day)}T12:00:00Z`) },
              { key: 'size', header: t('segments.history.members'), numeric: true, render: (r) => f.number(num(r.size) ?? 0) },
              { key: 'profiles', header: t('segments.history.profiles'), numeric: true, render: (r) => f.number(num(r.profiles) ?? 0) },
            ]}
          />
        </>
      )}
    </section>
  );
}
