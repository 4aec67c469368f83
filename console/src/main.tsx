import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { finishSignIn, SignInError } from './auth/cognito';
import { loadAuthConfig } from './auth/config';
import { initI18n } from './i18n';
import type { SignInProblem } from './pages/SignIn';
import './styles.css';

/** How this console signs in (/config.json), and, when the address is the user pool's answer, the sign-in finished before the first render. */
async function settleSignIn(): Promise<SignInProblem | null> {
  try {
    const cfg = await loadAuthConfig();
    if (cfg.auth === 'cognito') await finishSignIn(cfg);
    return null;
  } catch (e) {
    return { code: e instanceof SignInError ? e.code : 'config', message: (e as Error).message };
  }
}

void Promise.all([initI18n(), settleSignIn()]).then(([, problem]) =>
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App signInProblem={problem} />
    </StrictMode>,
  ),
);
