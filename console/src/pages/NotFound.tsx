import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';

export default function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <>
      <h1>{t('app.notFound')}</h1>
      <p>
        <Link href="/">{t('app.home')}</Link>
      </p>
    </>
  );
}
