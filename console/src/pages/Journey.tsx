/**
 * One journey: its drawing with per-step counts (JourneyFlow), the YAML beside it checked as you type
 * with the API's validator (loaded on demand), save, pause and resume where the stack has them, its
 * versions side by side and a dry run — those two shown when the stack answers their routes, with a
 * plain "not available" where it does not.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import type { Definition, JourneyDef } from '#shared/definitions';
import { api, pathParam } from '../api/client';
import { lazyComponent } from '../app/lazy';
import { useMay } from '../api/use-session';
import { ErrorNote, Loading } from '../components/Status';
import { useFormat } from '../i18n/format';
import { journeyFlow, type StatsLike } from '../journeys/layout';
import type { Problem, StoredDefinition } from '../journeys/validate';
import { JourneyVersions, JourneyDryRun } from '../journeys/Versions';
import { type JourneyView, journeyState, StateChip } from './Journeys';
import '../features.css';

/** The drawing and the editor, loaded on demand (prefetch.ts fetches them ahead). */
export const JourneyFlow = lazyComponent(() => import('../journeys/JourneyFlow'));
export const YamlEditor = lazyComponent(() => import('../components/YamlEditor'));

type Validator = typeof import('../journeys/validate');

/** The validator module, fetched once on the first journey page. */
let validatorPromise: Promise<Validator> | undefined;
function useValidator(): Validator | null {
  const [v, setV] = useState<Validator | null>(null);
  useEffect(() => {
    let live = true;
    validatorPromise ??= import('../journeys/validate');
    void validatorPromise.then((m) => live && setV(m));
    return () => {
      live = false;
    };
  }, []);
  return v;
}

export default function JourneyPage({ id }: { id: string }) {
  const { t } = useTranslation();
  const mayEdit = useMay('PUT /v1/journeys/{id}');
  const mayRun = useMay('POST /v1/journeys/{id}/pause');
  const maySimulate = useMay('POST /v1/journeys/simulate');
  const f = useFormat();
  const qc = useQueryClient();
  const problemsId = useId();
  const path = `/v1/journeys/${pathParam(id)}`;
  const journey = useQuery({ queryKey: ['journey', id], queryFn: () => api<JourneyView>(path) });
  const stats = useQuery({ queryKey: ['journey-stats', id], queryFn: () => api<StatsLike>(`${path}/stats`), refetchInterval: 15_000 });
  const stored = useQuery({
    queryKey: ['definitions-all'],
    queryFn: async () => {
      const areas = [
        ['segments', 'segment'],
        ['computed-traits', 'computedTrait'],
        ['journeys', 'journey'],
      ] as const;
      const lists = await Promise.all(areas.map(([a]) => api<{ items: StoredDefinition[] }>(`/v1/${a}`)));
      return lists.flatMap((l, i) => l.items.map((x) => ({ ...x, kind: areas[i]![1] })));
    },
  });
  const validator = useValidator();
  const running: Definition[] = useMemo(() => (validator && stored.data ? validator.runningSet(stored.data) : []), [validator, stored.data]);

  const [text, setText] = useState<string | null>(null);
  const original = useMemo(() => (validator && journey.data ? validator.toYaml(journey.data.definition) : null), [validator, journey.data]);
  useEffect(() => {
    if (original !== null) setText(original);
  }, [original]);

  const [problems, setProblems] = useState<Problem[]>([]);
  const [draft, setDraft] = useState<JourneyDef | null>(null);
  const check = useMemo(
    () => (s: string) => {
      if (!validator) return [];
      const r = validator.checkJourneyYaml(s, id, running);
      setProblems(r.problems);
      if (r.def) setDraft(r.def);
      return r.problems;
    },
    [validator, id, running],
  );
  // The first check, before any typing (the stored document is valid, or says why not).
  const textReady = text !== null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, when the text and the validator are there (typing is checked by the editor)
  useEffect(() => {
    if (text !== null && validator) check(text);
  }, [validator, textReady]);

  const storedDef = useMemo(() => (validator && journey.data ? validator.parseJourney(journey.data.definition, id) : null), [validator, journey.data, id]);
  const shown = draft ?? storedDef;

  const save = useMutation({
    mutationFn: (yaml: string) => api<JourneyView & { result: string }>(path, { method: 'PUT', raw: { text: yaml, contentType: 'application/yaml' } }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['journey', id] });
      void qc.invalidateQueries({ queryKey: ['journeys'] });
      void qc.invalidateQueries({ queryKey: ['journey-versions', id] });
    },
  });
  const lifecycle = useMutation({
    mutationFn: (action: 'pause' | 'resume') => api<{ status: string }>(`${path}/${action}`, { method: 'POST' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['journey', id] }),
  });

  if (journey.isPending) return <Loading />;
  if (journey.error)
    return (
      <>
        <h1>{id}</h1>
        <ErrorNote error={journey.error} retry={() => void journey.refetch()} />
        <p>
          <Link href="/journeys">{t('journeys.back')}</Link>
        </p>
      </>
    );
  const j = journey.data;
  const state = journeyState(j);
  const changed = text !== null && original !== null && text !== original;
  const steps = shown ? journeyFlow(shown, stats.data).nodes : [];

  return (
    <>
      <p className="small">
        <Link href="/journeys">{t('journeys.back')}</Link>
      </p>
      <div className="spread">
        <h1>{j.definition.name ?? j.id}</h1>
        <div className="row">
          <StateChip state={state} />
          {mayRun && j.status !== undefined && state !== 'archived' && (
            <button
              type="button"
              className="button secondary"
              disabled={lifecycle.isPending}
              onClick={() => lifecycle.mutate(state === 'paused' ? 'resume' : 'pause')}
            >
              {state === 'paused' ? t('journeys.resume') : t('journeys.pause')}
            </button>
          )}
        </div>
      </div>
      <p className="muted small">
        {t('journeys.meta', { id: j.id, version: f.number(j.version), updated: f.dateTime(j.updatedAt) })}
        {j.status === undefined && ` ${t('journeys.pauseUnavailable')}`}
      </p>
      {lifecycle.error && <ErrorNote error={lifecycle.error} />}

      <div className="journey-grid">
        <div>
          <h2>{t('journeys.flow')}</h2>
          {stats.error && <ErrorNote error={stats.error} retry={() => void stats.refetch()} />}
          {shown ? <JourneyFlow journey={shown} stats={stats.data} label={t('journeys.flowLabel', { name: j.definition.name ?? j.id })} /> : <Loading />}
        </div>
        <div>
          <h2>{t('journeys.yaml')}</h2>
          {text === null || !validator ? (
            <Loading />
          ) : (
            // Read-only for those who can neither save it nor dry-run it (a viewer).
            <YamlEditor
              value={text}
              label={t('journeys.yamlLabel')}
              check={check}
              onChange={setText}
              readOnly={!mayEdit && !maySimulate}
              describedBy={problemsId}
            />
          )}
          <div id={problemsId} className="problems" role="status" aria-live="polite">
            {validator && text !== null && problems.length === 0 && <p className="ok small">{t('journeys.valid')}</p>}
            {problems.length > 0 && (
              <>
                <p className="error small">{t('journeys.problems', { count: problems.length })}</p>
                <ul className="error small">
                  {problems.map((p) => (
                    <li key={`${p.from}-${p.field}-${p.message}`}>
                      {t('journeys.problemAt', { line: p.line, field: p.field })} {p.message}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </div>
          {mayEdit && (
            <div className="row">
              <button type="button" className="button" disabled={!changed || problems.length > 0 || save.isPending} onClick={() => text && save.mutate(text)}>
                {save.isPending ? t('journeys.saving') : t('journeys.save')}
              </button>
              <button type="button" className="button secondary" disabled={!changed} onClick={() => original !== null && setText(original)}>
                {t('journeys.revert')}
              </button>
              {save.data && <span className="ok small">{t('journeys.saved', { version: f.number(save.data.version), result: save.data.result })}</span>}
            </div>
          )}
          {save.error && <ErrorNote error={save.error} />}
        </div>
      </div>

      <h2>{t('journeys.steps')}</h2>
      <ol className="step-list">
        {steps.map((n) => (
          <li key={n.id}>
            <strong>{n.kind === 'trigger' || n.kind === 'end' ? t(`journeys.node.${n.kind}`) : n.title}</strong> (
            {t(`journeys.kind.${n.kind}`, { type: n.type })}){n.detail && ` — ${n.detail}`}
            {n.counts.length > 0 && `: ${n.counts.map((c) => `${t(`journeys.count.${c.key}`)} ${f.number(c.value)}`).join(', ')}`}
          </li>
        ))}
      </ol>

      <JourneyVersions id={id} toYaml={validator?.toYaml} />
      {maySimulate && <JourneyDryRun text={text} problems={problems.length} />}
    </>
  );
}
