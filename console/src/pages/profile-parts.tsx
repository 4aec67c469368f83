/** Small pieces the profile pages share: a person's display name and a JSON value written for people. */
import type { Identifier } from '../api/types';

/** First and last name, else a name trait, else the email, else the first identifier, else the profile id. */
export function displayName(traits: Record<string, unknown>, identities: Identifier[], profileId: string): string {
  const s = (k: string) => (typeof traits[k] === 'string' && traits[k] ? (traits[k] as string) : '');
  const full = [s('firstName') || s('first_name'), s('lastName') || s('last_name')].filter(Boolean).join(' ');
  if (full) return full;
  if (s('name')) return s('name');
  const email = identities.find((i) => i.type === 'email');
  if (email) return email.value;
  const first = identities.find((i) => i.type !== 'anonymous_id') ?? identities[0];
  return first ? `${first.type}:${first.value}` : profileId;
}

export function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (typeof value === 'object') return <code className="json">{JSON.stringify(value)}</code>;
  return <>{String(value)}</>;
}

export function Pairs({ data, empty }: { data: Record<string, unknown>; empty: string }) {
  const entries = Object.entries(data);
  if (!entries.length) return <p className="muted">{empty}</p>;
  return (
    <dl className="pairs">
      {entries.map(([k, v]) => (
        <div key={k} className="pair">
          <dt>{k}</dt>
          <dd>
            <Value value={v} />
          </dd>
        </div>
      ))}
    </dl>
  );
}
