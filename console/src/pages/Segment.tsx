/**
 * One segment: its definition (as YAML), its size now and over time (SizeHistory), its members page by page with a CSV export
 * (GET /v1/segments/{id}/members, an audited listing), and the way to edit it in the builder.
 */
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearch } from 'wouter';
import { stringify } from 'yaml';
import { api, pathParam } from '../api/client';
import { useMay } from '../api/use-session';
import type { DefinitionView, MembersPage } from '../api/types';
import { ErrorNote, Loading } from '../components/Status';
import { useFormat } from '../i18n/format';
import { SizeHistory } from '../segments/SizeHistory';
import type { SizeAnswer } from './Segments';

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export default function SegmentPage({ params }: { params: { id: string } }) {
  const { t } = useTranslation();
  const f = useFormat();
  const id = decodeURIComponent(params.id);
  const mayEdit = useMay('PUT /v1/segments/{id}');
  const saved = new URLSearchParams(useSearch()).get('saved');
  const base = `/v1/segments/${pathParam(id)}`;
  const def = useQuery({ queryKey: ['segments', id], queryFn: () => api<DefinitionView<{ name?: string; description?: string }>>(base) });
  // Just saved: existing profiles are being re-evaluated, so the size is read again every second for a while.
  const [savedAt] = useState(() => Date.now());
  const size = useQuery({
    queryKey: ['segments', id, 'size'],
    queryFn: () => api<SizeAnswer>(`${base}/size`),
    staleTime: 0,
    refetchInterval: (q) => (saved !== null && Date.now() - savedAt < 60_000 && String(q.state.data?.size) !== saved ? 1000 : false),
  });
  const [browsing, setBrowsing] = useState(false);
  const members = useInfiniteQuery({
    queryKey: ['segments', id, 'members'],
    queryFn: ({ pageParam }) => api<MembersPage>(`${base}/members`, { query: { limit: 50, cursor: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
    enabled: browsing,
  });
  const [exporting, setExporting] = useState<number | null>(null);

  const exportCsv = async () => {
    const rows = ['profile_id,since'];
    let cursor: string | undefined;
    setExporting(0);
    try {
      do {
        const page = await api<MembersPage>(`${base}/members`, { query: { limit: 1000, cursor } });
        for (const m of page.members) rows.push(`${csvCell(m.profileId)},${csvCell(m.since)}`);
        setExporting(rows.length - 1);
        cursor = page.next ?? undefined;
      } while (cursor);
      const url = URL.createObjectURL(new Blob([`${rows.join('\n')}\n`], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `segment-${id}-members.csv`;
      a.click();
      URL.revokeObjectURL(url);
    } finally {
      setExporting(null);
    }
  };

  if (def.isLoading) return <Loading />;
  if (def.error || !def.data) return <ErrorNote error={def.error} retry={() => void def.refetch()} />;
  return (
    <>
      <p className="crumbs">
        <Link href="/segments">{t('segments.title')}</Link>
      </p>
      <div className="spread">
        <h1>{def.data.definition.name ?? id}</h1>
        {mayEdit && (
          <Link href={`/segments/${pathParam(id)}/edit`} className="button secondary">
            {t('segments.edit')}
          </Link>
        )}
      </div>
      {saved !== null && (
        <p className="ok" role="status">
          {t('segments.saved')}
        </p>
      )}
      {def.data.definition.description && <p>{def.data.definition.description}</p>}
      <div className="tiles">
        <div className="tile">
          <span className="tile-figure" data-testid="segment-size">
            {size.data ? f.number(size.data.size) : '…'}
          </span>
          <span className="tile-label">{t('segments.membersNow')}</span>
        </div>
        <div className="tile">
          <span className="tile-figure">{def.data.version}</span>
          <span className="tile-label">{t('segments.version')}</span>
        </div>
      </div>
      <p className="muted small">{t('segments.sizeNote')}</p>

      <SizeHistory segment={id} />

      <section className="card" aria-labelledby="h-def">
        <h2 id="h-def">{t('segments.definition')}</h2>
        <pre className="yaml">{stringify(def.data.definition, { lineWidth: 0 })}</pre>
      </section>

      <section className="card" aria-labelledby="h-members">
        <h2 id="h-members">{t('segments.members')}</h2>
        <div className="row">
          {!browsing && (
            <button type="button" className="button secondary" onClick={() => setBrowsing(true)}>
              {t('segments.browse')}
            </button>
          )}
          <button type="button" className="button secondary" onClick={() => void exportCsv()} disabled={exporting !== null}>
            {exporting === null ? t('segments.export') : t('segments.exporting', { count: exporting })}
          </button>
        </div>
        <p className="muted small">{t('segments.audited')}</p>
        {members.error && <ErrorNote error={members.error} />}
        {browsing && members.data && (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('segments.profile')}</th>
                <th scope="col">{t('segments.since')}</th>
              </tr>
            </thead>
            <tbody>
              {members.data.pages.flatMap((p) =>
                p.members.map((m) => (
                  <tr key={m.profileId}>
                    <td>
                      <Link href={`/profiles/${pathParam(m.profileId)}`} className="mono">
                        {m.profileId}
                      </Link>
                    </td>
                    <td>{f.dateTime(m.since)}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        )}
        {browsing && members.hasNextPage && (
          <button type="button" className="button secondary" onClick={() => void members.fetchNextPage()} disabled={members.isFetchingNextPage}>
            {t('segments.more')}
          </button>
        )}
      </section>
    </>
  );
}
