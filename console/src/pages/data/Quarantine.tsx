/**
 * Quarantine (lake queries `quarantine`, `quarantine-rows`): why messages were set aside, how many and
 * since when, and sample rows of a reason with the message as received. Replay (an admin's): a count
 * first, then the replay, through `POST /v1/quarantine/replay` — the replay of `npx cairn replay`,
 * sent again while it says there is more; where the stack has no replay route for the admin API
 * (`503 replay_unavailable`), the page gives the command.
 */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api } from '../../api/client';
import { useMay } from '../../api/use-session';
import { ErrorNote } from '../../components/Status';
import { num, rowsOf, useLakeQuery } from '../../api/lake';
import { DataTable } from '../../components/DataTable';
import { LakeStatus } from '../../components/LakeStatus';
import { useFormat } from '../../i18n/format';
import { dateRange, Options } from '../../reports/Options';
import '../../features.css';

interface ReplaySummary {
  dryRun: boolean;
  objects: number;
  replayedObjects: number;
  alreadyReplayed: number;
  records: Record<string, number>;
  suppressed: number;
  unreplayable: { key: string; reason: string }[];
  more?: boolean;
}

/** Sends the replay until it says there is no more (each request replays a bounded number of objects). */
async function replayAll(dryRun: boolean): Promise<ReplaySummary> {
  const total: ReplaySummary = { dryRun, objects: 0, replayedObjects: 0, alreadyReplayed: 0, records: {}, suppressed: 0, unreplayable: [] };
  for (let i = 0; i < 40; i++) {
    const r = await api<ReplaySummary>('/v1/quarantine/replay', { method: 'POST', body: { dryRun, maxObjects: dryRun ? 100 : 25 } });
    total.objects = dryRun ? r.objects : total.objects + r.replayedObjects;
    total.replayedObjects += r.replayedObjects;
    total.alreadyReplayed = r.alreadyReplayed;
    for (const [k, n] of Object.entries(r.records)) total.records[k] = (total.records[k] ?? 0) + n;
    total.suppressed += r.suppressed;
    total.unreplayable.push(...r.unreplayable);
    // A dry run counts the first batch only: replaying it is what moves to the next.
    if (dryRun || !r.more) return { ...total, ...(dryRun && r.more ? { more: true } : {}) };
  }
  return { ...total, more: true };
}

export default function QuarantinePage() {
  const { t } = useTranslation();
  const f = useFormat();
  const admin = useMay('POST /v1/quarantine/replay');
  const replay = useMutation({ mutationFn: replayAll, onSuccess: (r) => !r.dryRun && summary.rerun() });
  const replayGone = replay.error instanceof ApiError && replay.error.code === 'replay_unavailable';
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
      <Options initial={o} onApply={setO} fields={dateRange(t)} />
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
        {admin ? (
          <div className="row">
            <button type="button" className="button secondary" disabled={replay.isPending} onClick={() => replay.mutate(true)}>
              {t('quarantine.replayCount')}
            </button>
            <button
              type="button"
              className="button"
              disabled={replay.isPending}
              onClick={() => window.confirm(t('quarantine.replayConfirm')) && replay.mutate(false)}
            >
              {replay.isPending ? t('quarantine.replaying') : t('quarantine.replayNow')}
            </button>
          </div>
        ) : (
          <p className="muted small">{t('quarantine.replayAdmin')}</p>
        )}
        {replay.data && (
          <p className="ok" role="status">
            {t(replay.data.dryRun ? 'quarantine.replayWould' : 'quarantine.replayDone', {
              records: f.number(Object.values(replay.data.records).reduce((a, b) => a + b, 0)),
              objects: f.number(replay.data.dryRun ? replay.data.objects - replay.data.alreadyReplayed : replay.data.replayedObjects),
              already: f.number(replay.data.alreadyReplayed),
              suppressed: f.number(replay.data.suppressed),
            })}
            {replay.data.more ? ` ${t('quarantine.replayMore')}` : ''}
          </p>
        )}
        {replay.data?.unreplayable.map((u) => (
          <p key={`${u.key}-${u.reason}`} className="error small">
            {u.key}: {u.reason}
          </p>
        ))}
        {replay.error && !replayGone && <ErrorNote error={replay.error} />}
        {replayGone && <p className="muted">{t('quarantine.replayUnavailable')}</p>}
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
