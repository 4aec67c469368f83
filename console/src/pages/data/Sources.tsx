/**
 * Sources and write keys (`/v1/sources`, docs/security.md#source-trust): each source's trust level and
 * keys; create a source, rotate its key (the old one keeps working for the overlap), revoke a key, set
 * the trust level. A new key is shown once, here, and never again. Keys are an admin's: other roles
 * read the list only.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, pathParam } from '../../api/client';
import { useMay } from '../../api/use-session';
import { ErrorNote, Loading } from '../../components/Status';
import { useFormat } from '../../i18n/format';
import '../../features.css';

type Trust = 'server' | 'browser';
interface KeyInfo {
  keyId: string;
  createdAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  status: 'active' | 'expiring' | 'expired' | 'revoked';
}
interface SourceInfo {
  sourceId: string;
  name: string;
  enabled: boolean;
  trust: Trust;
  keys: KeyInfo[];
}
interface Rotated {
  sourceId: string;
  created: boolean;
  trust: Trust;
  keyId: string;
  writeKey: string;
  previous: { keyId: string; expiresAt: string }[];
}

export default function SourcesPage() {
  const { t } = useTranslation();
  const f = useFormat();
  const qc = useQueryClient();
  const admin = useMay('POST /v1/sources/{id}/keys');
  const ids = useId();
  const list = useQuery({ queryKey: ['sources'], queryFn: () => api<{ sources: SourceInfo[] }>('/v1/sources') });
  const [shown, setShown] = useState<Rotated | null>(null);
  const done = () => void qc.invalidateQueries({ queryKey: ['sources'] });
  const rotate = useMutation({
    mutationFn: (v: { id: string; overlap?: string; create?: { name: string; trust: Trust } }) =>
      api<Rotated>(`/v1/sources/${pathParam(v.id)}/keys`, {
        method: 'POST',
        body: v.create ? { create: true, name: v.create.name, trust: v.create.trust } : { overlap: v.overlap ?? '24h' },
      }),
    onSuccess: (r) => {
      setShown(r);
      done();
    },
  });
  const revoke = useMutation({
    mutationFn: (v: { id: string; keyId: string }) => api(`/v1/sources/${pathParam(v.id)}/keys/${pathParam(v.keyId)}`, { method: 'DELETE' }),
    onSuccess: done,
  });
  const trust = useMutation({
    mutationFn: (v: { id: string; trust: Trust }) => api(`/v1/sources/${pathParam(v.id)}/trust`, { method: 'PUT', body: { trust: v.trust } }),
    onSuccess: done,
  });
  const [form, setForm] = useState({ id: '', name: '', trust: 'server' as Trust });
  const [overlap, setOverlap] = useState('24h');
  const create = (e: FormEvent) => {
    e.preventDefault();
    rotate.mutate({ id: form.id.trim(), create: { name: form.name.trim() || form.id.trim(), trust: form.trust } });
  };
  const busy = rotate.isPending || revoke.isPending || trust.isPending;

  return (
    <>
      <h1>{t('sources.title')}</h1>
      <p className="muted">{t('sources.intro')}</p>
      {!admin && <p className="chip off">{t('sources.readOnly')}</p>}
      {shown && (
        <div className="card newkey" role="alert">
          <h2>{t('sources.newKey', { id: shown.sourceId })}</h2>
          <p>{t('sources.newKeyOnce')}</p>
          <p>
            <code className="mono" data-testid="write-key">
              {shown.writeKey}
            </code>{' '}
            <button type="button" className="button secondary small" onClick={() => void navigator.clipboard?.writeText(shown.writeKey)}>
              {t('sources.copy')}
            </button>
          </p>
          {shown.previous.length > 0 && (
            <p className="small">{t('sources.previous', { keys: shown.previous.map((p) => `${p.keyId} → ${f.dateTime(p.expiresAt)}`).join(', ') })}</p>
          )}
          <button type="button" className="button small" onClick={() => setShown(null)}>
            {t('sources.done')}
          </button>
        </div>
      )}
      {(rotate.error || revoke.error || trust.error) && <ErrorNote error={rotate.error ?? revoke.error ?? trust.error} />}
      {list.isPending && <Loading />}
      {list.error && <ErrorNote error={list.error} retry={() => void list.refetch()} />}
      {admin && (
        <div className="row">
          <label htmlFor={`${ids}-overlap`}>{t('sources.overlap')}</label>
          <input
            id={`${ids}-overlap`}
            value={overlap}
            onChange={(e) => setOverlap(e.target.value)}
            style={{ minWidth: '6rem' }}
            aria-describedby={`${ids}-overlap-hint`}
          />
          <span id={`${ids}-overlap-hint`} className="muted small">
            {t('sources.overlapHint')}
          </span>
        </div>
      )}
      {list.data?.sources.map((s) => (
        <section key={s.sourceId} className="card" aria-labelledby={`${ids}-${s.sourceId}`}>
          <div className="spread">
            <h2 id={`${ids}-${s.sourceId}`}>
              {s.name} <code className="small">{s.sourceId}</code>
            </h2>
            <div className="row">
              <label htmlFor={`${ids}-${s.sourceId}-trust`}>{t('sources.trust')}</label>
              <select
                id={`${ids}-${s.sourceId}-trust`}
                value={s.trust}
                disabled={!admin || busy}
                onChange={(e) => {
                  const next = e.target.value as Trust;
                  if (window.confirm(t('sources.confirmTrust', { id: s.sourceId, trust: t(`sources.trustLevel.${next}`) })))
                    trust.mutate({ id: s.sourceId, trust: next });
                }}
              >
                <option value="server">{t('sources.trustLevel.server')}</option>
                <option value="browser">{t('sources.trustLevel.browser')}</option>
              </select>
              {admin && (
                <button type="button" className="button secondary" disabled={busy} onClick={() => rotate.mutate({ id: s.sourceId, overlap })}>
                  {t('sources.rotate')}
                </button>
              )}
            </div>
          </div>
          <table>
            <caption className="sr-only">{t('sources.keysOf', { id: s.sourceId })}</caption>
            <thead>
              <tr>
                <th scope="col">{t('sources.keyId')}</th>
                <th scope="col">{t('sources.status')}</th>
                <th scope="col">{t('sources.created')}</th>
                <th scope="col">{t('sources.expires')}</th>
                <th scope="col">
                  <span className="sr-only">{t('sources.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {s.keys.map((k) => (
                <tr key={k.keyId}>
                  <td>
                    <code>{k.keyId}</code>
                  </td>
                  <td>
                    <span className={`chip${k.status === 'active' ? '' : ' off'}`}>{t(`sources.keyStatus.${k.status}`)}</span>
                  </td>
                  <td>{f.dateTime(k.createdAt)}</td>
                  <td>{k.revokedAt ? f.dateTime(k.revokedAt) : f.dateTime(k.expiresAt)}</td>
                  <td>
                    {admin && (k.status === 'active' || k.status === 'expiring') && (
                      <button
                        type="button"
                        className="button danger small"
                        disabled={busy}
                        onClick={() => window.confirm(t('sources.confirmRevoke', { key: k.keyId })) && revoke.mutate({ id: s.sourceId, keyId: k.keyId })}
                      >
                        {t('sources.revoke')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      {admin && (
        <form className="card" onSubmit={create}>
          <h2>{t('sources.create')}</h2>
          <label htmlFor={`${ids}-id`}>{t('sources.sourceId')}</label>
          <input id={`${ids}-id`} required pattern="[A-Za-z0-9._\-]{1,64}" value={form.id} onChange={(e) => setForm({ ...form, id: e.target.value })} />
          <label htmlFor={`${ids}-name`}>{t('sources.name')}</label>
          <input id={`${ids}-name`} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          <fieldset>
            <legend>{t('sources.trust')}</legend>
            {(['server', 'browser'] as const).map((v) => (
              <label key={v} className="row">
                <input type="radio" name="trust" value={v} checked={form.trust === v} onChange={() => setForm({ ...form, trust: v })} />
                {t(`sources.trustLevel.${v}`)} — <span className="muted small">{t(`sources.trustHint.${v}`)}</span>
              </label>
            ))}
          </fieldset>
          <button type="submit" className="button" disabled={busy || !form.id.trim()}>
            {t('sources.createButton')}
          </button>
        </form>
      )}
    </>
  );
}
