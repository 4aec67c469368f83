/**
 * A journey's versions side by side (`GET /v1/journeys/{id}/versions`, `…/versions/{n}`) and its dry
 * run (`POST /v1/journeys/simulate`): both come with journey versions and simulation on the API; a
 * stack without those routes gets a plain "not available" instead of an error.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { parse as parseYaml } from 'yaml';
import { api, pathParam } from '../api/client';
import type { SimulationReport } from '#shared/journeys';
import { DataTable } from '../components/DataTable';
import { ErrorNote, Loading } from '../components/Status';
import { useFormat } from '../i18n/format';
import { unavailable } from '../api/available';
import { lineDiff } from './lines';

interface VersionSummary {
  version: number;
  hash?: string;
  appliedAt?: string;
  current?: boolean;
  ended?: boolean;
  sameAs?: number[];
  migrate?: { from: number };
}

function Side({ title, lines, marks }: { title: string; lines: string[]; marks: string[] }) {
  return (
    <figure className="version-side">
      <figcaption>{title}</figcaption>
      <pre>
        {lines.map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
          <div key={i} className={`diff-${marks[i]}`}>
            <span className="sr-only">{marks[i] === 'same' ? '' : `${marks[i]}: `}</span>
            {l || ' '}
          </div>
        ))}
      </pre>
    </figure>
  );
}

export function JourneyVersions({ id, toYaml }: { id: string; toYaml?: (doc: unknown) => string }) {
  const { t } = useTranslation();
  const f = useFormat();
  const leftId = useId();
  const rightId = useId();
  const base = `/v1/journeys/${pathParam(id)}/versions`;
  const list = useQuery({
    queryKey: ['journey-versions', id],
    queryFn: () => api<{ current: number; status?: string; versions: VersionSummary[] }>(base),
    retry: false,
  });
  const [pick, setPick] = useState<[number, number] | null>(null);
  useEffect(() => {
    const vs = list.data?.versions;
    if (vs?.length) setPick([vs.length > 1 ? vs[vs.length - 2]!.version : vs[0]!.version, vs[vs.length - 1]!.version]);
  }, [list.data]);
  const doc = (n: number | undefined) => ({
    queryKey: ['journey-version', id, n],
    queryFn: () => api<VersionSummary & { definition: unknown }>(`${base}/${n}`),
    enabled: n !== undefined && !!toYaml,
  });
  const left = useQuery(doc(pick?.[0]));
  const right = useQuery(doc(pick?.[1]));
  const texts = useMemo(() => {
    if (!toYaml || !left.data || !right.data) return null;
    const a = toYaml(left.data.definition).trimEnd().split('\n');
    const b = toYaml(right.data.definition).trimEnd().split('\n');
    return { a, b, ...lineDiff(a, b) };
  }, [left.data, right.data, toYaml]);

  return (
    <section aria-labelledby={`${leftId}-h`}>
      <h2 id={`${leftId}-h`}>{t('journeys.versions')}</h2>
      {list.isPending && <Loading />}
      {list.error &&
        (unavailable(list.error) ? (
          <p className="muted">{t('journeys.versionsUnavailable')}</p>
        ) : (
          <ErrorNote error={list.error} retry={() => void list.refetch()} />
        ))}
      {list.data && pick && (
        <>
          <div className="row">
            {(
              [
                [leftId, 0, t('journeys.compareLeft')],
                [rightId, 1, t('journeys.compareRight')],
              ] as const
            ).map(([htmlId, side, label]) => (
              <span key={htmlId} className="row">
                <label htmlFor={htmlId}>{label}</label>
                <select
                  id={htmlId}
                  value={pick[side]}
                  onChange={(e) => setPick((p) => (p ? (side === 0 ? [Number(e.target.value), p[1]] : [p[0], Number(e.target.value)]) : p))}
                >
                  {list.data.versions.map((v) => (
                    <option key={v.version} value={v.version}>
                      {t('journeys.versionOption', { version: v.version, when: f.dateTime(v.appliedAt) })}
                      {v.current ? ` · ${t('journeys.current')}` : ''}
                    </option>
                  ))}
                </select>
              </span>
            ))}
          </div>
          {(left.error || right.error) && <ErrorNote error={left.error ?? right.error} />}
          {texts ? (
            <div className="grid2">
              <Side title={t('journeys.versionTitle', { version: pick[0] })} lines={texts.a} marks={texts.left} />
              <Side title={t('journeys.versionTitle', { version: pick[1] })} lines={texts.b} marks={texts.right} />
            </div>
          ) : (
            <Loading />
          )}
        </>
      )}
    </section>
  );
}

/** Windows of history a dry run may replay from the console (the route's `since`; the CLI takes any duration). */
const DRY_RUN_WINDOWS = ['7d', '30d'] as const;

/**
 * The dry run of the YAML in the editor: `POST /v1/journeys/simulate` with the document as
 * `journey` (a draft need not be saved first), shown as the report the CLI prints (docs/journeys.md#simulation).
 */
export function JourneyDryRun({ text, problems }: { text: string | null; problems: number }) {
  const { t } = useTranslation();
  const headingId = useId();
  const windowId = useId();
  const [since, setSince] = useState<(typeof DRY_RUN_WINDOWS)[number]>('30d');
  const run = useMutation({
    mutationFn: (yaml: string) =>
      api<SimulationReport>('/v1/journeys/simulate', { method: 'POST', body: { journey: parseYaml(yaml) as unknown, since, sample: 3 } }),
    retry: false,
  });
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{t('journeys.dryRun')}</h2>
      <p className="muted small">{t('journeys.dryRunIntro')}</p>
      <div className="row">
        <label htmlFor={windowId}>{t('journeys.dryRunWindow')}</label>
        <select id={windowId} value={since} onChange={(e) => setSince(e.target.value as (typeof DRY_RUN_WINDOWS)[number])}>
          {DRY_RUN_WINDOWS.map((w) => (
            <option key={w} value={w}>
              {t(`journeys.dryRunSince.${w}`)}
            </option>
          ))}
        </select>
        <button type="button" className="button secondary" disabled={!text || problems > 0 || run.isPending} onClick={() => text && run.mutate(text)}>
          {run.isPending ? t('journeys.dryRunning') : t('journeys.dryRunStart')}
        </button>
      </div>
      {run.error &&
        (unavailable(run.error) ? (
          <p className="muted" role="status">
            {t('journeys.dryRunUnavailable')}
          </p>
        ) : (
          <ErrorNote error={run.error} />
        ))}
      {run.data && <DryRunReport report={run.data} />}
    </section>
  );
}

const counts = (r: Record<string, number>, f: ReturnType<typeof useFormat>) =>
  Object.entries(r)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${f.number(n)}`)
    .join(', ');

function DryRunReport({ report: r }: { report: SimulationReport }) {
  const { t } = useTranslation();
  const f = useFormat();
  const steps = Object.entries(r.steps).map(([id, s]) => ({ id, ...s }));
  const exited = Object.values(r.runs.exited).reduce((a, b) => a + b, 0);
  return (
    <div className="dry-run" data-testid="dry-run">
      <p role="status">
        {t('journeys.dryRunSummary', {
          since: f.dateTime(r.window.since),
          until: f.dateTime(r.window.until),
          events: f.number(r.history.events),
          triggers: f.number(r.history.triggers),
          entered: f.number(r.entries.entered ?? 0),
        })}
      </p>
      {!r.history.complete && <p className="note">{t('journeys.dryRunCut')}</p>}
      <DataTable
        caption={t('journeys.dryRunEntries')}
        rows={Object.entries(r.entries).map(([outcome, n]) => ({ outcome, n }))}
        rowKey={(x) => x.outcome}
        columns={[
          { key: 'outcome', header: t('journeys.dryRunOutcome') },
          { key: 'n', header: t('journeys.dryRunCount'), numeric: true, render: (x) => f.number(x.n) },
        ]}
      />
      <DataTable
        caption={t('journeys.dryRunSteps')}
        rows={steps}
        rowKey={(x) => x.id}
        columns={[
          { key: 'id', header: t('journeys.dryRunStep') },
          { key: 'type', header: t('journeys.dryRunType') },
          { key: 'people', header: t('journeys.dryRunPeople'), numeric: true, render: (x) => f.number(x.people) },
          { key: 'outcomes', header: t('journeys.dryRunOutcomes'), render: (x) => counts(x.outcomes, f) },
          { key: 'reasons', header: t('journeys.dryRunReasons'), render: (x) => counts(x.reasons, f) },
          { key: 'waiting', header: t('journeys.dryRunWaiting'), numeric: true, render: (x) => f.number(x.waiting) },
        ]}
      />
      <p>{t('journeys.dryRunRuns', { completed: f.number(r.runs.completed), exited: f.number(exited), active: f.number(r.runs.active) })}</p>
      {r.samples.length > 0 && (
        <details>
          <summary>{t('journeys.dryRunSamples', { count: r.samples.length })}</summary>
          {r.samples.map((x) => (
            <figure key={`${x.stepId}-${x.profileId}-${x.at}`} className="card small">
              <figcaption>
                {x.stepId} · {x.action} · {f.dateTime(x.at)}
              </figcaption>
              <pre>{JSON.stringify(x.message, null, 2)}</pre>
            </figure>
          ))}
        </details>
      )}
    </div>
  );
}
