/** A report's options: a small form whose values apply on submit (each change would start a query). */
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';

export interface Field {
  name: string;
  label: string;
  type?: 'text' | 'date' | 'number';
  hint?: string;
  min?: number;
  max?: number;
}

/** The first and last day a lake query reads (`--since`, `--until`): the pair most pages offer. */
export const dateRange = (t: TFunction): Field[] => [
  { name: 'since', label: t('reports.since'), type: 'date' },
  { name: 'until', label: t('reports.until'), type: 'date' },
];

export function Options({
  fields,
  initial,
  onApply,
  extra,
}: {
  fields: Field[];
  initial: Record<string, string>;
  onApply: (v: Record<string, string>) => void;
  extra?: ReactNode;
}) {
  const { t } = useTranslation();
  const id = useId();
  const [values, setValues] = useState(initial);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(values);
  };
  return (
    <form className="options" onSubmit={submit}>
      {fields.map((f) => (
        <span key={f.name} className="field">
          <label htmlFor={`${id}-${f.name}`}>{f.label}</label>
          <input
            id={`${id}-${f.name}`}
            name={f.name}
            type={f.type ?? 'text'}
            value={values[f.name] ?? ''}
            min={f.min}
            max={f.max}
            aria-describedby={f.hint ? `${id}-${f.name}-hint` : undefined}
            onChange={(e) => setValues((v) => ({ ...v, [f.name]: e.target.value }))}
          />
          {f.hint && (
            <span id={`${id}-${f.name}-hint`} className="muted small">
              {f.hint}
            </span>
          )}
        </span>
      ))}
      {extra}
      <button type="submit" className="button">
        {t('reports.apply')}
      </button>
    </form>
  );
}

/** YYYY-MM-DD of today minus `days` (UTC). */
export const daysAgo = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
