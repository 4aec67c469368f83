/**
 * The event catalogue (lake query `catalogue`): every event name and every property seen on it, with
 * volumes and first/last seen — the schema a tracking plan starts from. Filterable; each event's
 * properties open under it.
 */
import { useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../../api/lake';
import { LakeStatus } from '../../components/LakeStatus';
import { useFormat } from '../../i18n/format';
import { Options } from '../../reports/Options';
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
      <Options
        initial={o}
        onApply={setO}
        fields={[
          { name: 'since', label: t('reports.since'), type: 'date' },
          { name: 'until', label: t('reports.until'), type: 'date' },
        ]}
      />
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
          <div className="table-wrap">
            <table className="catalogue">
              <caption>{t('catalogue.caption')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('catalogue.event')}</th>
                  <th scope="col">{t('catalogue.type')}</th>
                  <th scope="col" className="num">
                    {t('catalogue.volume')}
                  </th>
                  <th scope="col">{t('catalogue.firstSeen')}</th>
                  <th scope="col">{t('catalogue.lastSeen')}</th>
                  <th scope="col">{t('catalogue.properties')}</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={e.event}>
                    <th scope="row">{e.event}</th>
                    <td>{e.type}</td>
                    <td className="num">{f.number(e.events)}</td>
                    <td>{f.dateTime(e.first)}</td>
                    <td>{f.dateTime(e.last)}</td>
                    <td>
                      {e.properties.length === 0 ? (
                        <span className="muted">{t('catalogue.noProperties')}</span>
                      ) : (
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
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
