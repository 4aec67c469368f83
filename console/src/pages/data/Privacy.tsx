/**
 * Privacy requests: the erasure requests and exports of the audit log (lake query `privacy-requests`),
 * an erasure's status and what was done in each store (`GET /v1/erasures/{id}`), a person's export
 * (`GET /v1/profiles/{identifier}/export`, downloaded as JSON) and, for admins, a new erasure request.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pathParam } from '../../api/client';
import { rowsOf, useLakeQuery } from '../../api/lake';
import { useMay } from '../../api/use-session';
import { DataTable } from '../../components/DataTable';
import { LakeStatus } from '../../components/LakeStatus';
import { ErrorNote, Loading } from '../../components/Status';
import { useFormat } from '../../i18n/format';
import type { ErasureStoreReport, ErasureView } from '#shared/privacy';
import '../../features.css';

/** What λ erase removed in a store, with its unit (rows, items, …). */
const removedOf = (s: ErasureStoreReport, n: (x: number) => string): string =>
  (s.outcome === 'erased' || s.outcome === 'pending') && s.removed !== undefined ? `${n(s.removed)} ${s.unit ?? ''}`.trim() : '';

function ErasureStatus({ id }: { id: string }) {
  const { t } = useTranslation();
  const f = useFormat();
  const q = useQuery({
    queryKey: ['erasure', id],
    queryFn: () => api<ErasureView>(`/v1/erasures/${pathParam(id)}`),
    refetchInterval: (x) => (x.state.data?.status === 'erased' ? false : 5_000),
  });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorNote error={q.error} retry={() => void q.refetch()} />;
  const e = q.data;
  return (
    <div className="card">
      <h3>{t('privacy.erasure', { id: e.erasureId })}</h3>
      <dl className="pairs">
        <dt>{t('privacy.status')}</dt>
        <dd>
          <span className={`chip${e.status === 'erased' ? '' : ' off'}`}>{t(`privacy.erasureStatus.${e.status}`)}</span>
        </dd>
        <dt>{t('privacy.requested')}</dt>
        <dd>{f.dateTime(e.requestedAt)}</dd>
        <dt>{t('privacy.suppressed')}</dt>
        <dd>{f.dateTime(e.suppressedAt)}</dd>
        <dt>{t('privacy.erased')}</dt>
        <dd>{f.dateTime(e.erasedAt)}</dd>
        <dt>{t('privacy.dropped')}</dt>
        <dd>{f.number(e.droppedMessages)}</dd>
      </dl>
      <DataTable
        caption={t('privacy.stores')}
        rows={e.stores.map((s) => ({ ...s, removedText: removedOf(s, f.number), expires: 'expiresBy' in s && s.expiresBy ? f.dateTime(s.expiresBy) : '' }))}
        rowKey={(r) => r.store}
        columns={[
          { key: 'store', header: t('privacy.store'), render: (r) => <code>{r.store}</code> },
          { key: 'outcome', header: t('privacy.outcome'), render: (r) => t(`privacy.storeOutcome.${r.outcome}`) },
          { key: 'removedText', header: t('privacy.removed'), numeric: true },
          { key: 'expires', header: t('privacy.expiresBy') },
          { key: 'how', header: t('privacy.how'), render: (r) => <span className="small">{r.how}</span> },
        ]}
      />
    </div>
  );
}

export default function PrivacyPage() {
  const { t } = useTranslation();
  const f = useFormat();
  const ids = useId();
  const admin = useMay('DELETE /v1/profiles/{identifier}');
  const [o] = useState<Record<string, string>>({ limit: '100' });
  const log = useLakeQuery({ query: 'privacy-requests', options: o });
  const [lookup, setLookup] = useState('');
  const [erasure, setErasure] = useState<string | null>(null);
  const [who, setWho] = useState('');
  const exportRun = useMutation({
    mutationFn: (identifier: string) => api<unknown>(`/v1/profiles/${pathParam(identifier)}/export`),
    onSuccess: (data, identifier) => {
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `export-${identifier.replace(/[^\w.@-]+/g, '_')}.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  });
  const erase = useMutation({
    mutationFn: (identifier: string) => api<{ erasureId: string }>(`/v1/profiles/${pathParam(identifier)}`, { method: 'DELETE' }),
    onSuccess: (r) => {
      setErasure(r.erasureId);
      log.rerun();
    },
  });
  const look = (e: FormEvent) => {
    e.preventDefault();
    if (lookup.trim()) setErasure(lookup.trim());
  };
  return (
    <>
      <h1>{t('privacy.title')}</h1>
      <p className="muted">{t('privacy.intro')}</p>

      <h2>{t('privacy.log')}</h2>
      <LakeStatus run={log} />
      {log.result && (
        <DataTable
          caption={t('privacy.logCaption')}
          rows={rowsOf(log.result)}
          empty={t('privacy.noRequests')}
          columns={[
            { key: 'at', header: t('privacy.when'), render: (r) => f.dateTime(r.at as string) },
            {
              key: 'action',
              header: t('privacy.action'),
              render: (r) => t(r.action === 'erasure.requested' ? 'privacy.erasureRequested' : 'privacy.exported'),
            },
            {
              key: 'target',
              header: t('privacy.target'),
              render: (r) =>
                r.action === 'erasure.requested' && r.target ? (
                  <button type="button" className="link" onClick={() => setErasure(String(r.target))}>
                    <code>{String(r.target)}</code>
                  </button>
                ) : (
                  <code>{String(r.target ?? '')}</code>
                ),
            },
            { key: 'actor', header: t('privacy.actor'), render: (r) => <span className="small">{String(r.actor ?? '')}</span> },
            { key: 'status', header: t('privacy.httpStatus'), numeric: true },
          ]}
        />
      )}

      <h2>{t('privacy.lookup')}</h2>
      <form className="row" onSubmit={look}>
        <label htmlFor={`${ids}-erasure`}>{t('privacy.erasureId')}</label>
        <input id={`${ids}-erasure`} value={lookup} onChange={(e) => setLookup(e.target.value)} />
        <button type="submit" className="button secondary">
          {t('privacy.show')}
        </button>
      </form>
      {erasure && <ErasureStatus id={erasure} />}

      <h2>{t('privacy.person')}</h2>
      <form className="row" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={`${ids}-who`}>{t('privacy.identifier')}</label>
        <input
          id={`${ids}-who`}
          value={who}
          placeholder="email:ada@example.com"
          onChange={(e) => setWho(e.target.value)}
          aria-describedby={`${ids}-who-hint`}
        />
        <button type="button" className="button secondary" disabled={!who.trim() || exportRun.isPending} onClick={() => exportRun.mutate(who.trim())}>
          {t('privacy.export')}
        </button>
        {admin && (
          <button
            type="button"
            className="button danger"
            disabled={!who.trim() || erase.isPending}
            onClick={() => window.confirm(t('privacy.confirmErase', { who: who.trim() })) && erase.mutate(who.trim())}
          >
            {t('privacy.erase')}
          </button>
        )}
      </form>
      <p id={`${ids}-who-hint`} className="muted small">
        {admin ? t('privacy.identifierHint') : t('privacy.noErase')}
      </p>
      {exportRun.isSuccess && (
        <p className="ok small" role="status">
          {t('privacy.exported')}
        </p>
      )}
      {(exportRun.error || erase.error) && <ErrorNote error={exportRun.error ?? erase.error} />}
    </>
  );
}
