/** Sign-in with the admin token: checked against the admin API before it is kept (sessionStorage, this tab). */
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api } from '../api/client';
import { signIn } from '../api/session';
import { LanguageSwitch } from '../components/LanguageSwitch';

export function SignInPage() {
  const { t } = useTranslation();
  const id = useId();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      // Any admin route will do: a refused token answers 401.
      await api('/v1/segments', { token: token.trim() });
      signIn({ token: token.trim(), role: 'admin' });
    } catch (err) {
      setProblem(err instanceof ApiError && err.status === 401 ? t('signIn.invalid') : t('signIn.unreachable', { message: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <header className="signin-header">
        <span className="brand">{t('app.name')}</span>
        <LanguageSwitch />
      </header>
      <main id="main">
        <h1>{t('signIn.title')}</h1>
        <p>{t('signIn.intro')}</p>
        <form onSubmit={submit} className="card">
          <label htmlFor={id}>{t('signIn.token')}</label>
          <input
            id={id}
            name="token"
            type="password"
            autoComplete="current-password"
            required
            value={token}
            onChange={(e) => setToken(e.target.value)}
            aria-describedby={problem ? `${id}-problem` : undefined}
          />
          {problem && (
            <p id={`${id}-problem`} className="error" role="alert">
              {problem}
            </p>
          )}
          <button type="submit" className="button" disabled={busy || !token.trim()}>
            {busy ? t('signIn.checking') : t('signIn.submit')}
          </button>
          <p className="muted small">{t('signIn.kept')}</p>
        </form>
      </main>
    </div>
  );
}
