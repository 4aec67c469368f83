/** RFM: the recency × frequency grid (people per score pair) and the named groups, each with a table. */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../api/lake';
import { DataTable } from '../components/DataTable';
import { LakeStatus } from '../components/LakeStatus';
import { useFormat } from '../i18n/format';
import { Chart } from './Chart';
import { dateRange, Options } from './Options';

const SCORES = [1, 2, 3, 4, 5];

export default function RfmReport() {
  const { t } = useTranslation();
  const f = useFormat();
  const [o, setO] = useState<Record<string, string>>({ since: '', until: '', asOf: '' });
  const grid = useLakeQuery({ query: 'rfm', options: { ...o, grid: true } });
  const groups = useLakeQuery({ query: 'rfm', options: o });
  const cells = rowsOf(grid.result);
  const groupRows = rowsOf(groups.result);
  const max = Math.max(1, ...cells.map((c) => num(c.people) ?? 0));
  const gridOption = useMemo(
    () => ({
      tooltip: { formatter: (p: { value: [number, number, number] }) => `R ${p.value[0] + 1} · F ${p.value[1] + 1}: ${f.number(p.value[2])}` },
      grid: { left: 90, right: 20, top: 10, bottom: 80 },
      xAxis: { type: 'category', name: t('reports.rfm.recency'), nameLocation: 'middle', nameGap: 28, data: SCORES.map(String) },
      yAxis: { type: 'category', name: t('reports.rfm.frequency'), nameLocation: 'middle', nameGap: 40, data: SCORES.map(String) },
      visualMap: { min: 0, max, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#eef4fc', '#1f5fbf'] } },
      series: [
        {
          type: 'heatmap',
          data: cells.map((c) => [(num(c.r) ?? 1) - 1, (num(c.f) ?? 1) - 1, num(c.people) ?? 0]),
          label: { show: true, formatter: (p: { value: [number, number, number] }) => f.number(p.value[2]) },
        },
      ],
    }),
    [cells, max, t, f],
  );
  const groupOption = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 110, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value' },
      yAxis: {
        type: 'category',
        inverse: true,
        data: groupRows.map((g) => t(`reports.rfm.group.${String(g.rfm_group)}`, { defaultValue: String(g.rfm_group) })),
      },
      series: [{ type: 'bar', data: groupRows.map((g) => num(g.people) ?? 0), itemStyle: { color: '#1f5fbf' }, label: { show: true, position: 'right' } }],
    }),
    [groupRows, t],
  );
  return (
    <>
      <Options initial={o} onApply={setO} fields={[...dateRange(t), { name: 'asOf', label: t('reports.rfm.asOf'), type: 'date' }]} />
      <h3>{t('reports.rfm.gridTitle')}</h3>
      <LakeStatus run={grid} />
      {grid.result && (
        <>
          <Chart option={gridOption} label={t('reports.rfm.gridChart')} height={380} />
          <DataTable
            caption={t('reports.rfm.gridTable')}
            rows={cells}
            columns={[
              { key: 'r', header: t('reports.rfm.recency'), numeric: true },
              { key: 'f', header: t('reports.rfm.frequency'), numeric: true },
              { key: 'people', header: t('reports.people'), numeric: true, render: (r) => f.number(num(r.people) ?? 0) },
              { key: 'monetary', header: t('reports.rfm.monetary'), numeric: true, render: (r) => f.number(num(r.monetary) ?? 0) },
            ]}
          />
        </>
      )}
      <h3>{t('reports.rfm.groupsTitle')}</h3>
      <LakeStatus run={groups} />
      {groups.result && (
        <>
          <Chart option={groupOption} label={t('reports.rfm.groupsChart')} height={300} />
          <DataTable
            caption={t('reports.rfm.groupsTable')}
            rows={groupRows}
            columns={[
              {
                key: 'rfm_group',
                header: t('reports.rfm.groupLabel'),
                render: (r) => t(`reports.rfm.group.${String(r.rfm_group)}`, { defaultValue: String(r.rfm_group) }),
              },
              { key: 'people', header: t('reports.people'), numeric: true, render: (r) => f.number(num(r.people) ?? 0) },
              { key: 'people_pct', header: t('reports.share'), numeric: true, render: (r) => `${f.number(num(r.people_pct) ?? 0)}%` },
              { key: 'avg_recency_days', header: t('reports.rfm.avgRecency'), numeric: true, render: (r) => f.number(num(r.avg_recency_days) ?? 0) },
              { key: 'avg_frequency', header: t('reports.rfm.avgFrequency'), numeric: true, render: (r) => f.number(num(r.avg_frequency) ?? 0) },
              { key: 'monetary', header: t('reports.rfm.monetary'), numeric: true, render: (r) => f.number(num(r.monetary) ?? 0) },
            ]}
          />
        </>
      )}
    </>
  );
}
