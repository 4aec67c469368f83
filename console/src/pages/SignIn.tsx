/**
 * Sign-in. Locally with the admin token: checked against the admin API before it is kept
 * (sessionStorage, this tab). On AWS (a /config.json naming Cognito) through the user pool's hosted
 * pages: the button goes there, and coming back signs in (auth/cognito.ts).
 */
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConsoleRuntimeConfig } from '#shared/config';
import { ApiError, api } from '../api/client';
import { signIn } from '../api/session';
import { authConfig } from '../auth/config';
import { startSignIn } from '../auth/cognito';
import { LanguageSwitch } from '../components/LanguageSwitch';

export interface SignInProblem {
  code: string;
  message: string;
}

export function SignInPage({ problem }: { problem?: SignInProblem | null }) {
  const cfg = authConfig();
  return cfg.auth === 'cognito' ? <CognitoSignIn cfg={cfg} problem={problem ?? null} /> : <TokenSignIn problem={problem ?? null} />;
}

function Frame({ children, problem }: { children: ReactNode; problem: SignInProblem | null }) {
  const { t } = useTranslation();
  return (
    <div className="signin">
      <header className="signin-header">
        <span className="brand">{t('app.name')}</span>
        <LanguageSwitch />
      </header>
      <main id="main">
        <h1>{t('signIn.title')}</h1>
        {problem && (
          <p className="error" role="alert">
            {t('signIn.refused', { code: problem.code, message: problem.message })}
          </p>
        )}
        {children}
      </main>
    </div>
  );
}

function CognitoSignIn({ cfg, problem }: { cfg: ConsoleRuntimeConfig; problem: SignInProblem | null }) {
  const { t } = useTranslation();
  const [going, setGoing] = useState(false);
  return (
    <Frame problem={problem}>
      <p>{t('signIn.cognitoIntro')}</p>
      <div className="card">
        <button
          type="button"
          className="button"
          disabled={going}
          onClick={() => {
            setGoing(true);
            void startSignIn(cfg).catch(() => setGoing(false));
          }}
        >
          {going ? t('signIn.redirecting') : t('signIn.cognitoSubmit')}
        </button>
        <p className="muted small">{t('signIn.cognitoKept')}</p>
      </div>
    </Frame>
  );
}

function TokenSignIn({ problem: failure }: { problem: SignInProblem | null }) {
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
      // The admin token is an admin's (IAM caller on the API).
      signIn({ kind: 'token', token: token.trim(), roles: ['admin'] });
    } catch (err) {
      setProblem(err instanceof ApiError && err.status === 401 ? t('signIn.invalid') : t('signIn.unreachable', { message: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Frame problem={failure}>
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
    </Frame>
  );
}
