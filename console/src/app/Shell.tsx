/** The frame around every signed-in page: skip link, header (name, language, sign out), navigation, main. */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'wouter';
import { roleOf, signOut } from '../api/session';
import { useSession } from '../api/use-session';
import { endSession } from '../auth/cognito';
import { authConfig } from '../auth/config';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { navFor } from './nav';

/** Sign out: on AWS also the hosted pages' session (and the refresh token is revoked); locally the token is forgotten. */
function leave(): void {
  const cfg = authConfig();
  if (cfg.auth === 'cognito') void endSession(cfg);
  else signOut();
}

export function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const [location] = useLocation();
  const session = useSession();
  const role = roleOf(session);
  const current = (path: string) => (path === '/' ? location === '/' : location === path || location.startsWith(`${path}/`));
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          {t('app.name')}
        </Link>
        <div className="topbar-tools">
          {session?.user && <span className="topbar-user">{t('app.signedInAs', { user: session.user, role: t(`app.roleNames.${role ?? 'none'}`) })}</span>}
          <LanguageSwitch />
          <button type="button" className="button secondary" onClick={leave}>
            {t('app.signOut')}
          </button>
        </div>
      </header>
      <nav className="sidenav" aria-label={t('nav.label')}>
        {navFor(session).map((g) => (
          <div key={g.label ?? 'top'} className="nav-group">
            {g.label && <div className="nav-group-label">{t(`nav.${g.label}`)}</div>}
            <ul>
              {g.items.map((i) => (
                <li key={i.path}>
                  <Link href={i.path} aria-current={current(i.path) ? 'page' : undefined}>
                    {t(`nav.${i.label}`)}
                  </Link>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </nav>
      <main id="main" tabIndex={-1}>
        {session && !role && (
          <p className="error" role="alert">
            {t('signIn.noRole', { user: session.user ?? '' })}
          </p>
        )}
        {children}
      </main>
    </div>
  );
}
