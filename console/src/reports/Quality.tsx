/** Data quality: quarantined rows per code, duplicates, and how many events carry each identifier. */
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../api/lake';
import { DataTable } from '../components/DataTable';
import { LakeStatus } from '../components/LakeStatus';
import { useFormat } from '../i18n/format';
import { Chart } from './Chart';
import { pct } from './Funnel';
import { dateRange, Options } from './Options';

export default function QualityReport() {
  const { t } = useTranslation();
  const f = useFormat();
  const [o, setO] = useState<Record<string, string>>({ since: '', until: '' });
  const run = useLakeQuery({ query: 'quality', options: o });
  const rows = rowsOf(run.result);
  const coverage = rows.filter((r) => r.section === 'coverage' || (r.section === 'events' && r.item === 'duplicate_message_ids'));
  const quarantine = rows.filter((r) => r.section === 'quarantine');
  const coverageOption = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 170, right: 40, top: 10, bottom: 30 },
      xAxis: { type: 'value', max: 100, name: '%' },
      yAxis: { type: 'category', inverse: true, data: coverage.map((r) => t(`reports.quality.item.${String(r.item)}`, { defaultValue: String(r.item) })) },
      series: [
        {
          type: 'bar',
          data: coverage.map((r) => num(r.pct) ?? 0),
          itemStyle: { color: '#1f5fbf' },
          label: { show: true, position: 'right', formatter: '{c}%' },
        },
      ],
    }),
    [coverage, t],
  );
  const quarantineOption = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 170, right: 40, top: 10, bottom: 30 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: quarantine.map((r) => String(r.item)) },
      series: [{ type: 'bar', data: quarantine.map((r) => num(r.count) ?? 0), itemStyle: { color: '#b3261e' }, label: { show: true, position: 'right' } }],
    }),
    [quarantine],
  );
  return (
    <>
      <Options initial={o} onApply={setO} fields={dateRange(t)} />
      <LakeStatus run={run} />
      {run.result && (
        <>
          <div className="grid2">
            <div>
              <h3>{t('reports.quality.coverage')}</h3>
              <Chart option={coverageOption} label={t('reports.quality.coverageChart')} height={220} />
            </div>
            <div>
              <h3>{t('reports.quality.quarantine')}</h3>
              {quarantine.length ? (
                <Chart option={quarantineOption} label={t('reports.quality.quarantineChart')} height={Math.max(160, 40 + quarantine.length * 32)} />
              ) : (
                <p className="muted">{t('reports.quality.noQuarantine')}</p>
              )}
            </div>
          </div>
          <DataTable
            caption={t('reports.quality.table')}
            rows={rows}
            columns={[
              { key: 'section', header: t('reports.journey.section') },
              { key: 'item', header: t('reports.journey.item') },
              { key: 'count', header: t('reports.quality.count'), numeric: true, render: (r) => f.number(num(r.count) ?? 0) },
              { key: 'pct', header: t('reports.share'), numeric: true, render: (r) => pct(f, r.pct) },
            ]}
          />
        </>
      )}
    </>
  );
}
