/** The frame around every signed-in page: skip link, header (name, language, sign out), navigation, main. */
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'wouter';
import { signOut } from '../api/session';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { NAV } from './nav';

export function Shell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const [location] = useLocation();
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
          <LanguageSwitch />
          <button type="button" className="button secondary" onClick={() => signOut()}>
            {t('app.signOut')}
          </button>
        </div>
      </header>
      <nav className="sidenav" aria-label={t('nav.label')}>
        {NAV.map((g) => (
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
        {children}
      </main>
    </div>
  );
}
