/** A page in the navigation whose screen is still to come (docs/console.md says what it will show). */
import { useTranslation } from 'react-i18next';
import type { NavItem } from '../app/nav';

export default function ComingPage({ label }: { label: NavItem['label'] }) {
  const { t } = useTranslation();
  return (
    <>
      <h1>{t(`nav.${label}`)}</h1>
      <p className="muted">{t('app.coming')}</p>
    </>
  );
}
