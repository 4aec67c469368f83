/** Dates, numbers and durations written by Intl in the console's language. */
import { useTranslation } from 'react-i18next';

export interface Formatters {
  number(n: number): string;
  date(iso: string | number | Date | undefined | null): string;
  dateTime(iso: string | number | Date | undefined | null): string;
  /** "in 3 days", "2 hours ago". */
  relative(iso: string | number | Date): string;
}

export function formatters(lang: string): Formatters {
  const num = new Intl.NumberFormat(lang);
  const d = new Intl.DateTimeFormat(lang, { dateStyle: 'medium' });
  const dt = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
  const rel = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  const when = (x: string | number | Date) => (x instanceof Date ? x : new Date(x));
  const ok = (x: Date) => !Number.isNaN(x.getTime());
  return {
    number: (n) => num.format(n),
    date: (x) => (x === undefined || x === null || !ok(when(x)) ? '—' : d.format(when(x))),
    dateTime: (x) => (x === undefined || x === null || !ok(when(x)) ? '—' : dt.format(when(x))),
    relative: (x) => {
      const ms = when(x).getTime() - Date.now();
      const abs = Math.abs(ms);
      const units: [Intl.RelativeTimeFormatUnit, number][] = [
        ['day', 86_400_000],
        ['hour', 3_600_000],
        ['minute', 60_000],
      ];
      for (const [unit, size] of units) if (abs >= size) return rel.format(Math.round(ms / size), unit);
      return rel.format(Math.round(ms / 1000), 'second');
    },
  };
}

/** The formatters of the current language. */
export function useFormat(): Formatters {
  const { i18n } = useTranslation();
  return formatters(i18n.language);
}
