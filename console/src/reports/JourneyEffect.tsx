/**
 * Journey effect: for one journey, conversion of the treated group against the holdout, the lift
 * with its 95% interval (Newcombe), and its coupons issued and redeemed — the journey report.
 */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { num, rowsOf, useLakeQuery } from '../api/lake';
import { DataTable } from '../components/DataTable';
import { LakeStatus } from '../components/LakeStatus';
import { ErrorNote } from '../components/Status';
import { useFormat } from '../i18n/format';
import { Chart } from './Chart';
import { pct } from './Funnel';
import { dateRange, daysAgo, Options } from './Options';

interface Row extends Record<string, unknown> {
  section: string;
  item: string;
}

/** The figures the charts read out of the report's rows. */
export function effectOf(rows: Row[]) {
  const get = (section: string, item: string) => rows.find((r) => r.section === section && r.item === item);
  const treated = get('audience', 'treated');
  const holdout = get('audience', 'holdout');
  const lift = get('lift', 'treated_minus_holdout_pct_points');
  const coupons = rows.filter((r) => r.section === 'coupon' && r.item.endsWith('(coupon)'));
  return {
    treated: treated ? { people: num(treated.people as number) ?? 0, pct: num(treated.conversion_pct as number) } : null,
    holdout: holdout ? { people: num(holdout.people as number) ?? 0, pct: num(holdout.conversion_pct as number) } : null,
    lift: lift ? num(lift.conversion_pct as number) : null,
    low: num(get('lift', 'ci95_low_pct_points')?.conversion_pct as number),
    high: num(get('lift', 'ci95_high_pct_points')?.conversion_pct as number),
    coupons: coupons.map((c) => ({
      step: c.item.replace(/ \(coupon\)$/, ''),
      issued: num(c.people as number) ?? 0,
      redeemed: num(c.converted as number) ?? 0,
    })),
  };
}

export default function JourneyEffectReport() {
  const { t } = useTranslation();
  const f = useFormat();
  const selectId = useId();
  const list = useQuery({ queryKey: ['journeys'], queryFn: () => api<{ items: { id: string; definition: { name?: string } }[] }>('/v1/journeys') });
  const [journey, setJourney] = useState<string>('');
  useEffect(() => {
    const items = list.data?.items ?? [];
    // The demo's coupon journey when there is one (it has a holdout and coupons), else the first.
    if (!journey && items.length) setJourney(items.find((j) => j.id === 'new-store-coupon')?.id ?? items[0]!.id);
  }, [list.data, journey]);
  const [o, setO] = useState<Record<string, string>>({ since: daysAgo(89), until: daysAgo(0), conversionEvent: '' });
  const run = useLakeQuery(journey ? { query: 'journey', journey, options: o } : null);
  const rows = rowsOf(run.result) as Row[];
  const e = useMemo(() => effectOf(rows), [rows]);
  const conversion = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 60, right: 20, top: 20, bottom: 30 },
      // No holdout, no holdout bar (an empty place would read as 0%).
      xAxis: { type: 'category', data: [t('reports.journey.treated'), ...(e.holdout ? [t('reports.journey.holdout')] : [])] },
      yAxis: { type: 'value', name: '%', max: 100 },
      series: [
        {
          type: 'bar',
          barWidth: '40%',
          data: [e.treated?.pct ?? null, ...(e.holdout ? [e.holdout.pct] : [])],
          itemStyle: { color: '#1f5fbf' },
          label: { show: true, position: 'top', formatter: (p: { value: number | null }) => (p.value === null ? '' : `${f.number(p.value)}%`) },
        },
      ],
    }),
    [e, t, f],
  );
  const liftOption = useMemo(
    () => ({
      grid: { left: 60, right: 30, top: 20, bottom: 40 },
      xAxis: {
        type: 'value',
        name: t('reports.journey.points'),
        nameLocation: 'middle',
        nameGap: 26,
        min: Math.min(-10, Math.floor((e.low ?? 0) - 5)),
        max: Math.max(10, Math.ceil((e.high ?? 0) + 5)),
      },
      yAxis: { type: 'category', data: [t('reports.journey.lift')] },
      series: [
        {
          type: 'custom',
          // The interval as a line with caps, the lift as a dot; zero is the axis line.
          renderItem: (_: unknown, api: { coord: (v: [number, number]) => [number, number]; value: (i: number) => number }) => {
            const [x1, y] = api.coord([api.value(0), 0]);
            const [x2] = api.coord([api.value(1), 0]);
            const [x3] = api.coord([api.value(2), 0]);
            const stroke = { stroke: '#174a96', lineWidth: 2 };
            return {
              type: 'group',
              children: [
                { type: 'line', shape: { x1, y1: y, x2, y2: y }, style: stroke },
                { type: 'line', shape: { x1, y1: y - 8, x2: x1, y2: y + 8 }, style: stroke },
                { type: 'line', shape: { x1: x2, y1: y - 8, x2, y2: y + 8 }, style: stroke },
                { type: 'circle', shape: { cx: x3, cy: y, r: 6 }, style: { fill: '#b3261e' } },
              ],
            };
          },
          encode: { x: [0, 1, 2], y: 3 },
          data: e.lift !== null && e.low !== null && e.high !== null ? [[e.low, e.high, e.lift, 0]] : [],
        },
      ],
    }),
    [e, t],
  );
  const redemption = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0 },
      grid: { left: 60, right: 20, top: 20, bottom: 50 },
      xAxis: { type: 'category', data: e.coupons.map((c) => c.step) },
      yAxis: { type: 'value' },
      series: [
        { type: 'bar', name: t('reports.journey.issued'), data: e.coupons.map((c) => c.issued), itemStyle: { color: '#8fb2e8' } },
        { type: 'bar', name: t('reports.journey.redeemed'), data: e.coupons.map((c) => c.redeemed), itemStyle: { color: '#1f5fbf' } },
      ],
    }),
    [e, t],
  );
  return (
    <>
      <div className="row">
        <label htmlFor={selectId}>{t('reports.journey.journey')}</label>
        <select id={selectId} value={journey} onChange={(ev) => setJourney(ev.target.value)}>
          {(list.data?.items ?? []).map((j) => (
            <option key={j.id} value={j.id}>
              {j.definition.name ?? j.id}
            </option>
          ))}
        </select>
      </div>
      {list.error && <ErrorNote error={list.error} />}
      <Options
        initial={o}
        onApply={setO}
        fields={[...dateRange(t), { name: 'conversionEvent', label: t('reports.journey.conversionEvent'), hint: t('reports.journey.conversionHint') }]}
      />
      {journey && <LakeStatus run={run} />}
      {run.result && (
        <>
          <div className="grid2">
            <div>
              <h3>{t('reports.journey.conversion')}</h3>
              <Chart
                option={conversion}
                label={t('reports.journey.conversionChart', { treated: e.treated?.pct ?? '—', holdout: e.holdout?.pct ?? '—' })}
                height={280}
              />
            </div>
            <div>
              <h3>{t('reports.journey.liftTitle')}</h3>
              {e.lift === null ? (
                <p className="muted">{e.holdout ? t('reports.journey.tooFew') : t('reports.journey.noHoldout')}</p>
              ) : (
                <>
                  <Chart option={liftOption} label={t('reports.journey.liftChart', { lift: e.lift, low: e.low ?? '—', high: e.high ?? '—' })} height={160} />
                  <p className="small">
                    {t('reports.journey.liftText', {
                      lift: f.number(e.lift),
                      low: e.low === null ? '—' : f.number(e.low),
                      high: e.high === null ? '—' : f.number(e.high),
                    })}
                  </p>
                </>
              )}
            </div>
          </div>
          {e.coupons.length > 0 && (
            <>
              <h3>{t('reports.journey.redemption')}</h3>
              <Chart option={redemption} label={t('reports.journey.redemptionChart')} height={260} />
            </>
          )}
          <DataTable
            caption={t('reports.journey.table')}
            rows={rows}
            columns={[
              { key: 'section', header: t('reports.journey.section') },
              { key: 'item', header: t('reports.journey.item') },
              {
                key: 'people',
                header: t('reports.people'),
                numeric: true,
                render: (r) => (num(r.people as number) === null ? '' : f.number(num(r.people as number)!)),
              },
              {
                key: 'converted',
                header: t('reports.journey.converted'),
                numeric: true,
                render: (r) => (num(r.converted as number) === null ? '' : f.number(num(r.converted as number)!)),
              },
              { key: 'conversion_pct', header: t('reports.journey.pct'), numeric: true, render: (r) => pct(f, r.conversion_pct) },
            ]}
          />
        </>
      )}
    </>
  );
}
