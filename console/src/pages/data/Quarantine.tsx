/**
 * Quarantine (lake queries `quarantine`, `quarantine-rows`): why messages were set aside, how many and
 * since when, and sample rows of a reason with the message as received. Replay is `npx cairn replay`
 * (it re-puts the raw records on the streams; the admin API has no replay route yet): the page gives
 * the command for the reason and window shown.
 */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { num, rowsOf, useLakeQuery } from '../../api/lake';
import { DataTable } from '../../components/DataTable';
import { LakeStatus } from '../../components/LakeStatus';
import { useFormat } from '../../i18n/format';
import { Options } from '../../reports/Options';
import '../../features.css';

export default function QuarantinePage() {
  const { t } = useTranslation();
  const f = useFormat();
  const [o, setO] = useState<Record<string, string>>({ since: '', until: '' });
  const [code, setCode] = useState<string | null>(null);
  const summary = useLakeQuery({ query: 'quarantine', options: o });
  const sample = useLakeQuery(code ? { query: 'quarantine-rows', options: { ...o, code, limit: '50' } } : null);
  const reasons = rowsOf(summary.result);
  const rows = rowsOf(sample.result);
  const first = reasons.reduce<string | null>((m, r) => (typeof r.first_seen === 'string' && (!m || r.first_seen < m) ? r.first_seen : m), null);
  return (
    <>
      <h1>{t('quarantine.title')}</h1>
      <p className="muted">{t('quarantine.intro')}</p>
      <Options
        initial={o}
        onApply={setO}
        fields={[
          { name: 'since', label: t('reports.since'), type: 'date' },
          { name: 'until', label: t('reports.until'), type: 'date' },
        ]}
      />
      <LakeStatus run={summary} />
      {summary.result && (
        <DataTable
          caption={t('quarantine.reasons', { count: reasons.reduce((n, r) => n + (num(r.rows) ?? 0), 0) })}
          rows={reasons}
          rowKey={(r) => `${r.code}/${r.stage}`}
          empty={t('quarantine.none')}
          columns={[
            {
              key: 'code',
              header: t('quarantine.code'),
              render: (r) => (
                <button type="button" className="link" aria-pressed={code === r.code} onClick={() => setCode(String(r.code))}>
                  <code>{String(r.code)}</code>
                </button>
              ),
            },
            { key: 'stage', header: t('quarantine.stage') },
            { key: 'rows', header: t('quarantine.rows'), numeric: true, render: (r) => f.number(num(r.rows) ?? 0) },
            { key: 'first_seen', header: t('catalogue.firstSeen'), render: (r) => f.dateTime(r.first_seen as string) },
            { key: 'last_seen', header: t('catalogue.lastSeen'), render: (r) => f.dateTime(r.last_seen as string) },
            { key: 'example_reason', header: t('quarantine.reason') },
          ]}
        />
      )}
      {code && (
        <section aria-labelledby="quarantine-sample">
          <h2 id="quarantine-sample">{t('quarantine.sample', { code })}</h2>
          <LakeStatus run={sample} />
          {sample.result && (
            <DataTable
              caption={t('quarantine.sampleCaption', { count: rows.length })}
              rows={rows}
              rowKey={(r, i) => `${r.message_id ?? i}`}
              columns={[
                { key: 'received_at', header: t('quarantine.received'), render: (r) => f.dateTime(r.received_at as string) },
                { key: 'source_id', header: t('quarantine.source') },
                { key: 'stage', header: t('quarantine.stage') },
                { key: 'reason', header: t('quarantine.reason') },
                {
                  key: 'message',
                  header: t('quarantine.message'),
                  render: (r) => (
                    <details>
                      <summary>{String(r.message_id ?? t('quarantine.noId'))}</summary>
                      <pre className="small">{pretty(String(r.message ?? ''))}</pre>
                    </details>
                  ),
                },
              ]}
            />
          )}
        </section>
      )}
      <section aria-labelledby="quarantine-replay">
        <h2 id="quarantine-replay">{t('quarantine.replay')}</h2>
        <p>{t('quarantine.replayIntro')}</p>
        <pre className="card small">
          {`npx cairn replay --from quarantine${first ? ` --since ${first.slice(0, 10)}` : ''} --dry-run\nnpx cairn replay --from quarantine${first ? ` --since ${first.slice(0, 10)}` : ''}`}
        </pre>
        <p className="muted small">{t('quarantine.replayNote')}</p>
      </section>
    </>
  );
}

const pretty = (s: string) => {
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return s;
  }
};
