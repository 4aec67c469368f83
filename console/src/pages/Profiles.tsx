/**
 * Find a customer: one search box ("Search profiles") for any identifier as the customer or a
 * colleague wrote it — an email, a phone number in a local format, a user id, a CRM id. The API reads
 * it as every identifier it may be (GET /v1/profiles?q=); one match opens the profile at once.
 */
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useSearch } from 'wouter';
import { api, pathParam } from '../api/client';
import type { SearchAnswer } from '../api/types';
import { ErrorNote, Loading } from '../components/Status';
import { useFormat } from '../i18n/format';
import { displayName } from './profile-parts';

export default function ProfilesPage() {
  const { t } = useTranslation();
  const f = useFormat();
  const id = useId();
  const params = new URLSearchParams(useSearch());
  const q = params.get('q') ?? '';
  const [, navigate] = useLocation();
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);

  const search = useQuery({
    queryKey: ['search', q],
    queryFn: () => api<SearchAnswer>('/v1/profiles', { query: { q } }),
    enabled: q.trim().length > 0,
  });
  // One person found: straight to their profile (the back button returns to the search).
  const only = search.data?.matches.length === 1 && !search.data.matches[0]!.erased ? search.data.matches[0]!.profileId : null;
  useEffect(() => {
    if (only) navigate(`/profiles/${pathParam(only)}`);
  }, [only, navigate]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim()) navigate(`/profiles?q=${encodeURIComponent(text.trim())}`);
  };

  return (
    <>
      <h1>{t('profiles.title')}</h1>
      <search>
        <form onSubmit={submit} className="row searchbar">
          <label htmlFor={id}>{t('profiles.search')}</label>
          <input
            id={id}
            type="search"
            name="q"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={t('profiles.placeholder')}
            autoComplete="off"
          />
          <button type="submit" className="button">
            {t('profiles.go')}
          </button>
        </form>
      </search>
      <p className="muted small">{t('profiles.hint')}</p>
      {search.isLoading && <Loading />}
      {search.error && <ErrorNote error={search.error} retry={() => void search.refetch()} />}
      {search.data && !only && (
        <section aria-live="polite">
          <h2>{t('profiles.results', { count: search.data.matches.length })}</h2>
          {search.data.matches.length === 0 ? (
            <p>{t('profiles.none', { query: search.data.query })}</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('profiles.person')}</th>
                  <th scope="col">{t('profiles.matchedBy')}</th>
                  <th scope="col">{t('profiles.updated')}</th>
                </tr>
              </thead>
              <tbody>
                {search.data.matches.map((m) => (
                  <tr key={m.profileId}>
                    <td>
                      {m.erased ? (
                        <span className="muted">{t('profiles.erased')}</span>
                      ) : (
                        <Link href={`/profiles/${pathParam(m.profileId)}`}>{displayName(m.traits ?? {}, m.identities ?? [], m.profileId)}</Link>
                      )}
                    </td>
                    <td className="mono">{m.matchedBy.join(', ')}</td>
                    <td>{f.dateTime(m.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </>
  );
}
