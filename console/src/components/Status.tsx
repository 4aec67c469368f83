/** Loading and error states every page shows alike. */
import { useTranslation } from 'react-i18next';

export function Loading() {
  const { t } = useTranslation();
  return (
    <p className="muted" role="status">
      {t('app.loading')}
    </p>
  );
}

export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  const { t } = useTranslation();
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error" role="alert">
      <p>{t('app.error', { message })}</p>
      {retry && (
        <button type="button" className="button secondary" onClick={retry}>
          {t('app.retry')}
        </button>
      )}
    </div>
  );
}
