/**
 * A lake query's state as every page shows it: running (time spent, bytes read, Cancel), cancelled or
 * failed (why, Run again), and when the figures are from. Announced to screen readers as it changes.
 */
import { useTranslation } from 'react-i18next';
import type { LakeRun } from '../api/lake';
import { useFormat } from '../i18n/format';
import '../features.css';

const MB = 1024 * 1024;

export function LakeStatus({ run, label }: { run: LakeRun & { cancel(): void; rerun(): void }; label?: string }) {
  const { t } = useTranslation();
  const f = useFormat();
  const seconds = (run.progress.elapsedMs ?? 0) / 1000;
  const scanned = run.progress.scannedBytes;
  const busy = run.state === 'starting' || run.state === 'queued' || run.state === 'running';
  return (
    <div className="lake-status" role="status" aria-live="polite">
      {busy && (
        <div className="row">
          <progress aria-label={label ?? t('lake.running')} />
          <span>
            {run.state === 'running' ? t('lake.running') : t('lake.queued')}
            {' · '}
            {t('lake.elapsed', { seconds: f.number(Math.round(seconds * 10) / 10) })}
            {scanned !== undefined && scanned > 0 ? ` · ${t('lake.scanned', { mb: f.number(Math.round((scanned / MB) * 10) / 10) })}` : ''}
          </span>
          <button type="button" className="button secondary small" onClick={() => run.cancel()}>
            {t('lake.cancel')}
          </button>
        </div>
      )}
      {run.state === 'cancelled' && (
        <div className="row">
          <span>{t('lake.cancelled')}</span>
          <button type="button" className="button secondary small" onClick={() => run.rerun()}>
            {t('lake.runAgain')}
          </button>
        </div>
      )}
      {(run.state === 'failed' || run.state === 'error') && (
        <div className="row error" role="alert">
          <span>{t('lake.failed', { reason: run.reason ?? (run.error instanceof Error ? run.error.message : String(run.error ?? '')) })}</span>
          <button type="button" className="button secondary small" onClick={() => run.rerun()}>
            {t('lake.runAgain')}
          </button>
        </div>
      )}
      {run.state === 'succeeded' && (
        <div className="row muted small">
          <span>
            {t('lake.done', { seconds: f.number(Math.round(seconds * 10) / 10), when: run.doneAt ? f.dateTime(run.doneAt) : '—' })}
            {run.result?.truncated ? ` · ${t('lake.truncated', { rows: f.number(run.result.rows.length) })}` : ''}
          </span>
          <button type="button" className="button secondary small" onClick={() => run.rerun()}>
            {t('lake.refresh')}
          </button>
        </div>
      )}
    </div>
  );
}
