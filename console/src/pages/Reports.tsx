/**
 * Reports as charts (docs/console.md#reports): one page per report, chosen from the list at the top;
 * each report runs on the lake (`/v1/lake/queries`) and shows its progress, a chart and the figures.
 */
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { type LazyComponent, lazyComponent } from '../app/lazy';
import '../features.css';

export const REPORT_PAGES = ['funnel', 'retention', 'rfm', 'lifecycle', 'journey', 'quality'] as const;
export type ReportPage = (typeof REPORT_PAGES)[number];

/** Each report, loaded on demand (prefetch.ts fetches them ahead). */
export const REPORT_PARTS: Record<ReportPage, LazyComponent<object>> = {
  funnel: lazyComponent(() => import('../reports/Funnel')),
  retention: lazyComponent(() => import('../reports/Retention')),
  rfm: lazyComponent(() => import('../reports/Rfm')),
  lifecycle: lazyComponent(() => import('../reports/Lifecycle')),
  journey: lazyComponent(() => import('../reports/JourneyEffect')),
  quality: lazyComponent(() => import('../reports/Quality')),
};

export default function ReportsPage({ name }: { name?: string }) {
  const { t } = useTranslation();
  const current: ReportPage = (REPORT_PAGES as readonly string[]).includes(name ?? '') ? (name as ReportPage) : 'funnel';
  const Page = REPORT_PARTS[current];
  return (
    <>
      <h1>{t('reports.title')}</h1>
      <nav aria-label={t('reports.listLabel')}>
        <ul className="tabs">
          {REPORT_PAGES.map((p) => (
            <li key={p}>
              <Link href={`/reports/${p}`} aria-current={p === current ? 'page' : undefined}>
                {t(`reports.${p}.title`)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <h2>{t(`reports.${current}.title`)}</h2>
      <p className="muted">{t(`reports.${current}.intro`)}</p>
      <Page />
    </>
  );
}
