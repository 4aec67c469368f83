/** Segments: every applied segment with its size now, and the way to build a new one. */
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { api, pathParam } from '../api/client';
import { useMay } from '../api/use-session';
import type { DefinitionView } from '../api/types';
import { ErrorNote, Loading } from '../components/Status';
import { useFormat } from '../i18n/format';

export interface SizeAnswer {
  segment: string;
  size: number;
  at: string;
}

export default function SegmentsPage() {
  const { t } = useTranslation();
  const f = useFormat();
  const mayEdit = useMay('PUT /v1/segments/{id}');
  const list = useQuery({ queryKey: ['segments'], queryFn: () => api<{ items: DefinitionView<{ name?: string; description?: string }>[] }>('/v1/segments') });
  return (
    <>
      <div className="spread">
        <h1>{t('segments.title')}</h1>
        {mayEdit && (
          <Link href="/segments/new" className="button">
            {t('segments.new')}
          </Link>
        )}
      </div>
      {list.isLoading && <Loading />}
      {list.error && <ErrorNote error={list.error} retry={() => void list.refetch()} />}
      {list.data && list.data.items.length === 0 && <p>{t('segments.none')}</p>}
      {list.data && list.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('segments.segment')}</th>
              <th scope="col" className="num">
                {t('segments.size')}
              </th>
              <th scope="col">{t('segments.version')}</th>
              <th scope="col">{t('segments.updated')}</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((s) => (
              <tr key={s.id} data-segment={s.id}>
                <td>
                  <Link href={`/segments/${pathParam(s.id)}`}>{s.definition.name ?? s.id}</Link>
                  <div className="muted small mono">{s.id}</div>
                </td>
                <SizeCell id={s.id} />
                <td>{s.version}</td>
                <td>{f.dateTime(s.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/**
 * A segment's size now, in its row. Sizes change by themselves (profiles change, windows slide, the
 * sweep after a save): read afresh when the list is shown and every few seconds while it is.
 */
function SizeCell({ id }: { id: string }) {
  const f = useFormat();
  const size = useQuery({
    queryKey: ['segments', id, 'size'],
    queryFn: () => api<SizeAnswer>(`/v1/segments/${pathParam(id)}/size`),
    staleTime: 0,
    refetchInterval: 5_000,
  });
  return <td className="num segment-size">{size.data ? f.number(size.data.size) : '…'}</td>;
}
