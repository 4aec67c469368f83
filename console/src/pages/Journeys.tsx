/** Journeys: every journey with its trigger, state and how many entered; each opens as a flow. */
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { api, pathParam } from '../api/client';
import { DataTable } from '../components/DataTable';
import { ErrorNote, Loading } from '../components/Status';
import { useFormat } from '../i18n/format';
import '../features.css';

export interface JourneyView {
  kind: 'journey';
  id: string;
  version: number;
  updatedAt: string;
  /** With journey versions (pause, resume): `active`, `paused`, `archived`. */
  status?: string;
  definition: { name?: string; enabled?: boolean; trigger?: { event?: string; segment?: string; on?: string }; holdout?: string; [k: string]: unknown };
}

/** The state a marketer reads: the versions API's status when the stack has it, else `enabled`. */
export function journeyState(j: Pick<JourneyView, 'status' | 'definition'>): 'active' | 'paused' | 'archived' | 'stopped' {
  if (j.status === 'paused' || j.status === 'archived' || j.status === 'active') return j.status;
  return j.definition.enabled === false ? 'stopped' : 'active';
}

export function StateChip({ state }: { state: ReturnType<typeof journeyState> }) {
  const { t } = useTranslation();
  return <span className={`chip${state === 'active' ? '' : ' off'}`}>{t(`journeys.state.${state}`)}</span>;
}

export default function JourneysPage() {
  const { t } = useTranslation();
  const f = useFormat();
  const list = useQuery({ queryKey: ['journeys'], queryFn: () => api<{ items: JourneyView[] }>('/v1/journeys') });
  return (
    <>
      <h1>{t('journeys.title')}</h1>
      <p className="muted">{t('journeys.intro')}</p>
      {list.isPending && <Loading />}
      {list.error && <ErrorNote error={list.error} retry={() => void list.refetch()} />}
      {list.data && (
        <DataTable
          caption={t('journeys.listCaption', { count: list.data.items.length })}
          rows={list.data.items.map((j) => ({ ...j }) as JourneyView & Record<string, unknown>)}
          rowKey={(j) => j.id}
          empty={t('journeys.none')}
          columns={[
            {
              key: 'name',
              header: t('journeys.name'),
              render: (j) => <Link href={`/journeys/${pathParam(j.id)}`}>{j.definition.name ?? j.id}</Link>,
            },
            { key: 'id', header: t('journeys.id'), render: (j) => <code>{j.id}</code> },
            {
              key: 'trigger',
              header: t('journeys.trigger'),
              render: (j) =>
                j.definition.trigger?.event ??
                (j.definition.trigger?.segment ? `${j.definition.trigger.segment} (${j.definition.trigger.on ?? 'entered'})` : ''),
            },
            { key: 'state', header: t('journeys.stateLabel'), render: (j) => <StateChip state={journeyState(j)} /> },
            { key: 'version', header: t('journeys.version'), numeric: true, render: (j) => f.number(j.version) },
            { key: 'updatedAt', header: t('journeys.updated'), render: (j) => f.dateTime(j.updatedAt) },
          ]}
        />
      )}
    </>
  );
}
