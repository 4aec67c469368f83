/**
 * EN and zh-CN (i18next + react-i18next): both catalogues ship in the initial bundle (a few KB), the
 * choice is kept in localStorage, `<html lang>` follows it, and dates and numbers are written by
 * Intl in the chosen language (format.ts).
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en, type Messages } from './en';
import { zhCN } from './zh-CN';

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'zh-CN', label: '中文' },
] as const;
export type Language = (typeof LANGUAGES)[number]['code'];

const STORAGE_KEY = 'cairn.language';

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    resources: { translation: Messages };
  }
}

/** The saved choice, else the browser's first language we have, else English. */
export function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'zh-CN') return saved;
  for (const l of navigator.languages ?? []) if (l.toLowerCase().startsWith('zh')) return 'zh-CN';
  return 'en';
}

export async function initI18n(lng: Language = initialLanguage()): Promise<typeof i18next> {
  await i18next.use(initReactI18next).init({
    lng,
    fallbackLng: 'en',
    resources: { en: { translation: en }, 'zh-CN': { translation: zhCN } },
    // React escapes what it renders.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  document.documentElement.lang = lng;
  i18next.on('languageChanged', (l) => {
    document.documentElement.lang = l;
    localStorage.setItem(STORAGE_KEY, l);
  });
  return i18next;
}
