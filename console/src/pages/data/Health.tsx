/**
 * Pipeline health. Two sources, each named on the page with what it approximates:
 * - events and quarantined rows per minute and source, counted from the lake by receive time (lake
 *   query `throughput`): what reached the lake, so the last minute or two are still filling;
 * - lag, function failures and intake from the stack's own status (`GET /v1/status`, the local twin's
 *   route); a deployed stack has no such route: there `npx cairn --stack <name> status` reads
 *   CloudWatch, and the page says so instead of inventing figures.
 */
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { unavailable } from '../../api/available';
import { num, rowsOf, useLakeQuery } from '../../api/lake';
import { DataTable } from '../../components/DataTable';
import { LakeStatus } from '../../components/LakeStatus';
import { ErrorNote, Loading } from '../../components/Status';
import { useFormat } from '../../i18n/format';
import { Chart } from '../../reports/Chart';
import { Options } from '../../reports/Options';
import '../../features.css';

interface Status {
  state: string;
  uptimeSeconds: number;
  streams: Record<string, { name: string; recordsBehind: number; millisBehind: number }>;
  functions: Record<
    string,
    { invocations: number; errors: number; timeouts: number; failedRecords: number; retries: number; records: number; avgDurationMs: number }
  >;
  throughput: { windowSeconds: number; eventsPerSecond: number; requestsPerSecond: number };
}

export default function HealthPage() {
  const { t } = useTranslation();
  const f = useFormat();
  const [o, setO] = useState<Record<string, string>>({ hours: '3' });
  const status = useQuery({ queryKey: ['status'], queryFn: () => api<Status>('/v1/status'), refetchInterval: 5_000, retry: false });
  const run = useLakeQuery({ query: 'throughput', options: o });
  const rows = rowsOf(run.result);
  const option = useMemo(() => {
    // Every minute of the window, the quiet ones at 0 (the lake has rows only for minutes with events).
    const hours = Math.min(48, Math.max(1, Number(o.hours) || 3));
    const end = Math.floor((run.doneAt ?? Date.now()) / 60_000) * 60_000;
    const minutes = Array.from({ length: hours * 60 }, (_, i) => new Date(end - (hours * 60 - 1 - i) * 60_000).toISOString());
    const key = (m: unknown) => String(m).slice(0, 16);
    const sources = [...new Set(rows.map((r) => String(r.source_id)))].sort();
    const cell = new Map(rows.map((r) => [`${key(r.minute)}|${r.source_id}`, r]));
    const at = (m: string, s: string, k: 'events' | 'quarantined') => num(cell.get(`${key(m)}|${s}`)?.[k]) ?? 0;
    return {
      tooltip: { trigger: 'axis' },
      legend: { bottom: 0, type: 'scroll' },
      grid: { left: 50, right: 20, top: 20, bottom: 70 },
      xAxis: { type: 'category', data: minutes.map((m) => f.dateTime(m)) },
      yAxis: { type: 'value', name: t('health.perMinute') },
      series: [
        ...sources.map((s) => ({ type: 'bar', stack: 'events', name: s || t('health.noSource'), data: minutes.map((m) => at(m, s, 'events')) })),
        {
          type: 'line',
          name: t('health.quarantined'),
          showSymbol: false,
          itemStyle: { color: '#b3261e' },
          data: minutes.map((m) => sources.reduce((n, s) => n + at(m, s, 'quarantined'), 0)),
        },
      ],
    };
  }, [rows, t, f, o.hours, run.doneAt]);
  const totals = useMemo(() => {
    const by = new Map<string, { events: number; quarantined: number }>();
    for (const r of rows) {
      const s = String(r.source_id);
      const x = by.get(s) ?? { events: 0, quarantined: 0 };
      x.events += num(r.events) ?? 0;
      x.quarantined += num(r.quarantined) ?? 0;
      by.set(s, x);
    }
    return [...by.entries()].map(([source, x]) => ({ source, ...x }));
  }, [rows]);
  return (
    <>
      <h1>{t('health.title')}</h1>
      <p className="muted">{t('health.intro')}</p>

      <h2>{t('health.now')}</h2>
      {status.isPending && <Loading />}
      {status.error &&
        (unavailable(status.error) ? <p className="card">{t('health.noStatus')}</p> : <ErrorNote error={status.error} retry={() => void status.refetch()} />)}
      {status.data && (
        <>
          <p className="small muted">{t('health.statusNote')}</p>
          <div className="tiles">
            <div className="tile">
              <span className="tile-figure">{f.number(status.data.throughput.eventsPerSecond * 60)}</span>
              <span className="tile-label">{t('health.intake')}</span>
            </div>
            {Object.entries(status.data.streams).map(([k, s]) => (
              <div key={k} className="tile">
                <span className="tile-figure">{f.number(Math.round(s.millisBehind / 100) / 10)} s</span>
                <span className="tile-label">{t('health.lag', { stream: s.name, records: f.number(s.recordsBehind) })}</span>
              </div>
            ))}
          </div>
          <DataTable
            caption={t('health.functions')}
            rows={Object.entries(status.data.functions).map(([fn, s]) => ({ fn, ...s }))}
            rowKey={(r) => r.fn}
            columns={[
              { key: 'fn', header: t('health.function') },
              { key: 'invocations', header: t('health.invocations'), numeric: true, render: (r) => f.number(r.invocations) },
              {
                key: 'errors',
                header: t('health.errors'),
                numeric: true,
                render: (r) => <span className={r.errors ? 'error' : undefined}>{f.number(r.errors)}</span>,
              },
              { key: 'timeouts', header: t('health.timeouts'), numeric: true, render: (r) => f.number(r.timeouts) },
              { key: 'retries', header: t('health.retries'), numeric: true, render: (r) => f.number(r.retries) },
              {
                key: 'failedRecords',
                header: t('health.failedRecords'),
                numeric: true,
                render: (r) => <span className={r.failedRecords ? 'error' : undefined}>{f.number(r.failedRecords)}</span>,
              },
              { key: 'avgDurationMs', header: t('health.avgMs'), numeric: true, render: (r) => f.number(r.avgDurationMs) },
            ]}
          />
        </>
      )}

      <h2>{t('health.throughput')}</h2>
      <p className="small muted">{t('health.throughputNote')}</p>
      <Options initial={o} onApply={setO} fields={[{ name: 'hours', label: t('health.hours'), type: 'number', min: 1, max: 48 }]} />
      <LakeStatus run={run} />
      {run.result && (
        <>
          <Chart option={option} label={t('health.chart', { sources: totals.length })} height={340} />
          <DataTable
            caption={t('health.bySource')}
            rows={totals}
            rowKey={(r) => r.source}
            empty={t('health.nothing')}
            columns={[
              { key: 'source', header: t('health.source'), render: (r) => r.source || t('health.noSource') },
              { key: 'events', header: t('health.events'), numeric: true, render: (r) => f.number(r.events) },
              { key: 'quarantined', header: t('health.quarantined'), numeric: true, render: (r) => f.number(r.quarantined) },
            ]}
          />
        </>
      )}
    </>
  );
}
