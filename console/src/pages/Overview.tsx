/** The start page: how many definitions there are, and the way to every task. */
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { api } from '../api/client';
import { useFormat } from '../i18n/format';

interface Listing {
  items: unknown[];
}

export default function OverviewPage() {
  const { t } = useTranslation();
  const f = useFormat();
  const count = (area: string) => ({ queryKey: [area], queryFn: () => api<Listing>(`/v1/${area}`) });
  const segments = useQuery(count('segments'));
  const journeys = useQuery(count('journeys'));
  const traits = useQuery(count('computed-traits'));
  const tile = (label: string, href: string, q: typeof segments) => (
    <Link href={href} className="tile">
      <span className="tile-figure">{q.data ? f.number(q.data.items.length) : '…'}</span>
      <span className="tile-label">{label}</span>
    </Link>
  );
  return (
    <>
      <h1>{t('overview.title')}</h1>
      <p>{t('overview.intro')}</p>
      <div className="tiles">
        {tile(t('overview.segments'), '/segments', segments)}
        {tile(t('overview.journeys'), '/journeys', journeys)}
        {tile(t('overview.computedTraits'), '/segments', traits)}
      </div>
    </>
  );
}
