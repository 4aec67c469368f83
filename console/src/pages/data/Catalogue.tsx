/**
 * The event catalogue (lake query `catalogue`): every event name and every property seen on it, with
 * volumes and first/last seen — the schema a tracking plan starts from. Filterable; each event's
 * properties open under it.
 */
import { useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../../api/lake';
import { DataTable } from '../../components/DataTable';
import { LakeStatus } from '../../components/LakeStatus';
import { useFormat } from '../../i18n/format';
import { dateRange, Options } from '../../reports/Options';
import '../../features.css';

interface Entry {
  event: string;
  type: string;
  events: number;
  first: string;
  last: string;
  properties: { name: string; events: number; first: string; last: string }[];
}

export function catalogueOf(rows: Record<string, unknown>[]): Entry[] {
  const by = new Map<string, Entry>();
  for (const r of rows) {
    const event = String(r.event);
    if (r.property === null || r.property === undefined) {
      by.set(event, {
        event,
        type: String(r.type ?? ''),
        events: num(r.events as number) ?? 0,
        first: String(r.first_seen ?? ''),
        last: String(r.last_seen ?? ''),
        properties: by.get(event)?.properties ?? [],
      });
    } else {
      const e = by.get(event) ?? { event, type: '', events: 0, first: '', last: '', properties: [] };
      e.properties.push({ name: String(r.property), events: num(r.events as number) ?? 0, first: String(r.first_seen ?? ''), last: String(r.last_seen ?? '') });
      by.set(event, e);
    }
  }
  return [...by.values()].sort((a, b) => b.events - a.events || a.event.localeCompare(b.event));
}

export default function CataloguePage() {
  const { t } = useTranslation();
  const f = useFormat();
  const filterId = useId();
  const [o, setO] = useState<Record<string, string>>({ since: '', until: '' });
  const [filter, setFilter] = useState('');
  const run = useLakeQuery({ query: 'catalogue', options: o });
  const all = useMemo(() => catalogueOf(rowsOf(run.result)), [run.result]);
  const q = filter.trim().toLowerCase();
  const shown = q ? all.filter((e) => e.event.toLowerCase().includes(q) || e.properties.some((p) => p.name.toLowerCase().includes(q))) : all;
  return (
    <>
      <h1>{t('catalogue.title')}</h1>
      <p className="muted">{t('catalogue.intro')}</p>
      <Options initial={o} onApply={setO} fields={dateRange(t)} />
      <LakeStatus run={run} />
      {run.result && (
        <>
          <div className="row">
            <label htmlFor={filterId}>{t('catalogue.filter')}</label>
            <input id={filterId} type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
            <span className="muted small" role="status">
              {t('catalogue.count', { shown: shown.length, total: all.length })}
            </span>
          </div>
          <DataTable
            className="catalogue"
            caption={t('catalogue.caption')}
            rows={shown}
            rowKey={(e) => e.event}
            empty={false}
            columns={[
              { key: 'event', header: t('catalogue.event'), rowHeader: true },
              { key: 'type', header: t('catalogue.type') },
              { key: 'events', header: t('catalogue.volume'), numeric: true, render: (e) => f.number(e.events) },
              { key: 'first', header: t('catalogue.firstSeen'), render: (e) => f.dateTime(e.first) },
              { key: 'last', header: t('catalogue.lastSeen'), render: (e) => f.dateTime(e.last) },
              { key: 'properties', header: t('catalogue.properties'), render: (e) => <Properties entry={e} /> },
            ]}
          />
        </>
      )}
    </>
  );
}

/** An event's properties, open under it: each one's volume, its share of the event and when last seen. */
function Properties({ entry: e }: { entry: Entry }) {
  const { t } = useTranslation();
  const f = useFormat();
  if (e.properties.length === 0) return <span className="muted">{t('catalogue.noProperties')}</span>;
  return (
    <details>
      <summary>{t('catalogue.propertyCount', { count: e.properties.length })}</summary>
      <table className="inner">
        <caption className="sr-only">{t('catalogue.propertiesOf', { event: e.event })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('catalogue.property')}</th>
            <th scope="col" className="num">
              {t('catalogue.volume')}
            </th>
            <th scope="col" className="num">
              {t('catalogue.share')}
            </th>
            <th scope="col">{t('catalogue.lastSeen')}</th>
          </tr>
        </thead>
        <tbody>
          {e.properties.map((p) => (
            <tr key={p.name}>
              <td>
                <code>{p.name}</code>
              </td>
              <td className="num">{f.number(p.events)}</td>
              <td className="num">{e.events ? `${f.number(Math.round((1000 * p.events) / e.events) / 10)}%` : ''}</td>
              <td>{f.dateTime(p.last)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
