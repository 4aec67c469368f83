/**
 * One person: identities and the merge ledger (unmerge for admins), traits, consent per channel,
 * computed traits, segments, journeys (the step a run waits at and when it moves next), and the
 * timeline with each event's properties. Reads GET /v1/profiles/{id}, /merges, /journeys, /events.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { api, pathParam } from '../api/client';
import { useSession } from '../api/use-session';
import { may } from '../auth/may';
import type { ApiProfile, EventsPage, JourneyRunView, MergeView } from '../api/types';
import { ErrorNote, Loading } from '../components/Status';
import { useFormat } from '../i18n/format';
import { displayName, Pairs, Value } from './profile-parts';

export default function ProfilePage({ params }: { params: { id: string } }) {
  const { t } = useTranslation();
  const f = useFormat();
  const session = useSession();
  const qc = useQueryClient();
  const id = decodeURIComponent(params.id);
  const base = `/v1/profiles/${pathParam(`profile_id:${id}`)}`;
  const profile = useQuery({ queryKey: ['profile', id], queryFn: () => api<ApiProfile>(base) });
  const merges = useQuery({ queryKey: ['profile', id, 'merges'], queryFn: () => api<{ merges: MergeView[] }>(`${base}/merges`) });
  const journeys = useQuery({ queryKey: ['profile', id, 'journeys'], queryFn: () => api<{ journeys: JourneyRunView[] }>(`${base}/journeys`) });
  const events = useInfiniteQuery({
    queryKey: ['profile', id, 'events'],
    queryFn: ({ pageParam }) => api<EventsPage>(`${base}/events`, { query: { limit: 25, before: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
  });
  const unmerge = useMutation({
    mutationFn: (merged: string) => api<{ survivor: string; merged: string }>(`${base}/unmerge`, { method: 'POST', body: { merged } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['profile', id] }),
  });

  if (profile.isLoading) return <Loading />;
  if (profile.error || !profile.data) return <ErrorNote error={profile.error} retry={() => void profile.refetch()} />;
  const p = profile.data;
  const name = displayName(p.traits, p.identities, p.profileId);
  const isAdmin = may(session, 'POST /v1/profiles/{identifier}/unmerge');

  return (
    <>
      <p className="crumbs">
        <Link href="/profiles">{t('profiles.title')}</Link>
      </p>
      <h1>{name}</h1>
      <p className="muted small">
        {t('profile.id')} <span className="mono">{p.profileId}</span> · {t('profile.created')} {f.dateTime(p.createdAt)} · {t('profile.updated')}{' '}
        {f.dateTime(p.updatedAt)}
      </p>

      <div className="grid2">
        <section className="card" aria-labelledby="h-identities">
          <h2 id="h-identities">{t('profile.identities')}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('profile.type')}</th>
                <th scope="col">{t('profile.value')}</th>
              </tr>
            </thead>
            <tbody>
              {p.identities.map((i) => (
                <tr key={`${i.type}:${i.value}`}>
                  <td>{i.type}</td>
                  <td className="mono">{i.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>

        <section className="card" aria-labelledby="h-consent">
          <h2 id="h-consent">{t('profile.consent')}</h2>
          {Object.keys(p.consent).length === 0 ? (
            <p className="muted">{t('profile.noConsent')}</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('profile.channel')}</th>
                  <th scope="col">{t('profile.state')}</th>
                  <th scope="col">{t('profile.since')}</th>
                  <th scope="col">{t('profile.source')}</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(p.consent).map(([ch, c]) => (
                  <tr key={ch}>
                    <td>{ch}</td>
                    <td>
                      <span className={c.granted ? 'chip' : 'chip off'}>{c.granted ? t('profile.granted') : t('profile.denied')}</span>
                    </td>
                    <td>{f.dateTime(c.timestamp)}</td>
                    <td className="mono small">{c.source}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <section className="card" aria-labelledby="h-merges">
        <h2 id="h-merges">{t('profile.merges')}</h2>
        {merges.isLoading && <Loading />}
        {merges.error && <ErrorNote error={merges.error} />}
        {merges.data && merges.data.merges.length === 0 && <p className="muted">{t('profile.noMerges')}</p>}
        {merges.data && merges.data.merges.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('profile.mergedAt')}</th>
                <th scope="col">{t('profile.mergedProfile')}</th>
                <th scope="col">{t('profile.via')}</th>
                <th scope="col">{t('profile.source')}</th>
                {isAdmin && <th scope="col">{t('profile.actions')}</th>}
              </tr>
            </thead>
            <tbody>
              {merges.data.merges.map((m) => (
                <tr key={m.profileId}>
                  <td>{m.merge ? f.dateTime(m.merge.at) : t('profile.notRecorded')}</td>
                  <td>
                    <span className="mono small">{m.profileId}</span>
                    <div className="small">{m.identities.map((i) => `${i.type}:${i.value}`).join(', ')}</div>
                  </td>
                  <td className="mono small">{m.merge?.via.join(', ') ?? '—'}</td>
                  <td className="mono small">{m.merge?.sourceId ?? '—'}</td>
                  {isAdmin && (
                    <td>
                      {m.direct && m.merge ? (
                        <button
                          type="button"
                          className="button danger small"
                          disabled={unmerge.isPending}
                          onClick={() => {
                            if (window.confirm(t('profile.unmergeConfirm', { profile: m.profileId }))) unmerge.mutate(m.profileId);
                          }}
                        >
                          {t('profile.unmerge')}
                        </button>
                      ) : (
                        <span className="muted small">{t('profile.cannotUnmerge')}</span>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {unmerge.error && <ErrorNote error={unmerge.error} />}
        {unmerge.data && (
          <p className="ok" role="status">
            {t('profile.unmerged', { profile: unmerge.data.merged })} <Link href={`/profiles/${pathParam(unmerge.data.merged)}`}>{t('profile.openOther')}</Link>
          </p>
        )}
      </section>

      <div className="grid2">
        <section className="card" aria-labelledby="h-traits">
          <h2 id="h-traits">{t('profile.traits')}</h2>
          <Pairs data={p.traits} empty={t('profile.none')} />
        </section>
        <section className="card" aria-labelledby="h-computed">
          <h2 id="h-computed">{t('profile.computed')}</h2>
          <Pairs data={p.computed} empty={t('profile.none')} />
        </section>
      </div>

      <div className="grid2">
        <section className="card" aria-labelledby="h-segments">
          <h2 id="h-segments">{t('profile.segments')}</h2>
          {p.segments.length === 0 ? (
            <p className="muted">{t('profile.noSegments')}</p>
          ) : (
            <ul className="chips">
              {p.segments.map((s) => (
                <li key={s}>
                  <Link href={`/segments/${pathParam(s)}`} className="chip">
                    {s}
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="card" aria-labelledby="h-journeys">
          <h2 id="h-journeys">{t('profile.journeys')}</h2>
          {journeys.isLoading && <Loading />}
          {journeys.error && <ErrorNote error={journeys.error} />}
          {journeys.data && journeys.data.journeys.length === 0 && <p className="muted">{t('profile.noJourneys')}</p>}
          {journeys.data && journeys.data.journeys.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('profile.journey')}</th>
                  <th scope="col">{t('profile.status')}</th>
                  <th scope="col">{t('profile.currentStep')}</th>
                  <th scope="col">{t('profile.nextAction')}</th>
                </tr>
              </thead>
              <tbody>
                {journeys.data.journeys.map((j) => (
                  <tr key={`${j.journeyId}:${j.profileId}`}>
                    <td>{j.journeyId}</td>
                    <td>
                      {t(`profile.run.${j.status === 'active' || j.status === 'completed' || j.status === 'exited' ? j.status : 'other'}`)}
                      {j.reason ? <span className="muted small"> ({j.reason})</span> : null}
                    </td>
                    <td className="mono">{j.waitingAt ?? '—'}</td>
                    <td>{j.nextActionAt ? `${f.dateTime(j.nextActionAt)} (${f.relative(j.nextActionAt)})` : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <section className="card" aria-labelledby="h-timeline">
        <h2 id="h-timeline">{t('profile.timeline')}</h2>
        {events.isLoading && <Loading />}
        {events.error && <ErrorNote error={events.error} />}
        <ol className="timeline">
          {events.data?.pages.flatMap((page) =>
            page.events.map((e) => (
              <li key={e.messageId}>
                <div className="spread">
                  <strong>{e.type === 'track' ? e.event : e.type === 'page' || e.type === 'screen' ? `${e.type}: ${e.name ?? ''}` : e.type}</strong>
                  <span className="muted small">
                    <time dateTime={e.timestamp}>{f.dateTime(e.timestamp)}</time>
                    {e.sourceId ? ` · ${e.sourceId}` : ''}
                  </span>
                </div>
                {e.properties && Object.keys(e.properties).length > 0 && (
                  <dl className="pairs small">
                    {Object.entries(e.properties).map(([k, v]) => (
                      <div key={k} className="pair">
                        <dt>{k}</dt>
                        <dd>
                          <Value value={v} />
                        </dd>
                      </div>
                    ))}
                  </dl>
                )}
                {e.traits && Object.keys(e.traits).length > 0 && (
                  <dl className="pairs small">
                    {Object.entries(e.traits).map(([k, v]) => (
                      <div key={k} className="pair">
                        <dt>{`traits.${k}`}</dt>
                        <dd>
                          <Value value={v} />
                        </dd>
                      </div>
                    ))}
                  </dl>
                )}
              </li>
            )),
          )}
        </ol>
        {events.data?.pages[0]?.events.length === 0 && <p className="muted">{t('profile.noEvents')}</p>}
        {events.hasNextPage && (
          <button type="button" className="button secondary" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
            {t('profile.moreEvents')}
          </button>
        )}
      </section>
    </>
  );
}
