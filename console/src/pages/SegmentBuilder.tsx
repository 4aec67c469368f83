/**
 * Build a segment: the form and its YAML side by side, each following the other — the YAML is
 * validated as you type by the same validator the API runs (shared/definitions, in the browser) —
 * the estimated size before saving (POST /v1/segments/preview, page by page, with progress), then
 * save (PUT /v1/segments/{id}). A document the form cannot hold exactly is edited in the YAML.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'wouter';
import { stringify } from 'yaml';
import { BUILTIN_COMPUTED, type Definition } from '#shared/definitions';
import { api, pathParam } from '../api/client';
import { lazyComponent } from '../app/lazy';
import { useMay } from '../api/use-session';
import type { DefinitionView, PreviewPage } from '../api/types';
import { ErrorNote, Loading } from '../components/Status';
import { useFormat } from '../i18n/format';
import { type Choices, GroupEditor } from '../segments/ConditionEditor';
import { emptyForm, fromDefinition, sameCondition, type SegmentForm, toDocument } from '../segments/model';
import { checkSegmentDoc, checkSegmentYaml, runningSet } from '../segments/validate';

/** The YAML editor, loaded on demand (prefetch.ts fetches it ahead). */
export const YamlEditor = lazyComponent(() => import('../components/YamlEditor'));

const yamlOf = (doc: Record<string, unknown>) => stringify(doc, { lineWidth: 0 });

interface Estimate {
  scanned: number;
  matched: number;
  done: boolean;
  startsEmpty: PreviewPage['startsEmpty'];
}

export default function SegmentBuilderPage({ params }: { params: { id?: string } }) {
  const { t } = useTranslation();
  const mayEdit = useMay('PUT /v1/segments/{id}');
  const mayEstimate = useMay('POST /v1/segments/preview');
  const f = useFormat();
  const qc = useQueryClient();
  const [, navigate] = useLocation();
  const editing = params.id ? decodeURIComponent(params.id) : undefined;
  const ids = { id: useId(), name: useId(), description: useId() };

  const defs = useQuery({
    queryKey: ['definitions', 'all'],
    queryFn: async () => {
      const [segments, computed, journeys] = await Promise.all(
        ['segments', 'computed-traits', 'journeys'].map((a) => api<{ items: DefinitionView[] }>(`/v1/${a}`).then((r) => r.items)),
      );
      return { segments: segments!, computed: computed!, journeys: journeys! };
    },
  });
  const running: Definition[] = useMemo(
    () => (defs.data ? runningSet([...defs.data.segments, ...defs.data.computed, ...defs.data.journeys]) : []),
    [defs.data],
  );
  const choices: Choices = useMemo(
    () => ({
      computed: [...(defs.data?.computed.map((c) => c.id) ?? []), ...BUILTIN_COMPUTED],
      segments: defs.data?.segments.map((s) => s.id).filter((s) => s !== editing) ?? [],
      identifierTypes: ['user_id', 'email', 'phone', 'crm_id', 'anonymous_id'],
      channels: ['email', 'sms', 'push', 'whatsapp'],
    }),
    [defs.data, editing],
  );

  const [form, setForm] = useState<SegmentForm | null>(null);
  const [yamlText, setYamlText] = useState<string | null>(null);
  const [formHolds, setFormHolds] = useState(true);
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const estimating = useRef<AbortController | null>(null);

  // The starting point: the stored segment when editing, else an empty form.
  if (defs.data && form === null) {
    const stored = editing ? defs.data.segments.find((s) => s.id === editing) : undefined;
    const start = stored ? checkSegmentDoc(stored.definition, running, editing) : undefined;
    const initial = start?.def ? fromDefinition(start.def) : { ...emptyForm(), id: editing ?? '' };
    setForm(initial);
    setYamlText(stored ? yamlOf(stored.definition) : yamlOf(toDocument(initial)));
  }

  const checked = useMemo(
    () => (yamlText === null ? null : checkSegmentYaml(yamlText, running, editing ?? (form?.id || undefined))),
    [yamlText, running, editing, form?.id],
  );

  const onForm = (next: SegmentForm) => {
    setForm(next);
    setYamlText(yamlOf(toDocument(next)));
    setFormHolds(true);
    setEstimate(null);
  };
  const onYaml = (text: string) => {
    setYamlText(text);
    setEstimate(null);
    const c = checkSegmentYaml(text, running, editing);
    if (!c.def) return;
    // The form follows the YAML when it can hold it exactly; otherwise the YAML is the editor.
    const next = fromDefinition(c.def);
    const back = checkSegmentDoc(toDocument(next), running, editing);
    const holds = !!back.def && sameCondition(back.def.where, c.def.where);
    setFormHolds(holds);
    if (holds) setForm(next);
  };

  const runEstimate = async () => {
    if (!checked?.doc) return;
    estimating.current?.abort();
    const ctl = new AbortController();
    estimating.current = ctl;
    let total: Estimate = { scanned: 0, matched: 0, done: false, startsEmpty: [] };
    let cursor: string | undefined;
    setEstimate(total);
    try {
      do {
        const page = await api<PreviewPage>('/v1/segments/preview', { method: 'POST', body: checked.doc, query: { cursor }, signal: ctl.signal });
        cursor = page.cursor ?? undefined;
        total = { scanned: total.scanned + page.scanned, matched: total.matched + page.matched, done: !cursor, startsEmpty: page.startsEmpty };
        setEstimate(total);
      } while (cursor && !ctl.signal.aborted);
    } catch (e) {
      if (!ctl.signal.aborted) setEstimate(null);
      if (!ctl.signal.aborted) throw e;
    }
  };
  const estimateRun = useMutation({ mutationFn: runEstimate });

  const save = useMutation({
    mutationFn: () => {
      const doc = checked?.doc;
      const id = String(doc?.id ?? '');
      return api<DefinitionView & { result: string }>(`/v1/segments/${pathParam(id)}`, { method: 'PUT', body: doc });
    },
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['definitions'] });
      void qc.invalidateQueries({ queryKey: ['segments'] });
      navigate(`/segments/${pathParam(r.id)}?saved=${estimate?.done ? estimate.matched : ''}`);
    },
  });

  if (defs.isLoading || !form || yamlText === null) return <Loading />;
  if (defs.error) return <ErrorNote error={defs.error} retry={() => void defs.refetch()} />;
  const problems = checked?.problems ?? [];
  const idProblem = !editing && !form.id.trim();

  return (
    <>
      <p className="crumbs">
        <Link href="/segments">{t('segments.title')}</Link>
      </p>
      <h1>{editing ? t('builder.editTitle', { id: editing }) : t('builder.newTitle')}</h1>
      <div className="builder">
        <section className="card builder-form" aria-labelledby="h-form">
          <h2 id="h-form">{t('builder.form')}</h2>
          <div className="row">
            <label className="field" htmlFor={ids.id}>
              <span className="field-label">{t('builder.id')}</span>
            </label>
            <input
              id={ids.id}
              type="text"
              className="short"
              value={form.id}
              disabled={!!editing || !formHolds}
              onChange={(e) => onForm({ ...form, id: e.target.value })}
              aria-describedby={`${ids.id}-hint`}
            />
            <span id={`${ids.id}-hint`} className="muted small">
              {t('builder.idHint')}
            </span>
          </div>
          <div className="row">
            <label className="field" htmlFor={ids.name}>
              <span className="field-label">{t('builder.name')}</span>
            </label>
            <input id={ids.name} type="text" value={form.name} disabled={!formHolds} onChange={(e) => onForm({ ...form, name: e.target.value })} />
          </div>
          <div className="row">
            <label className="field" htmlFor={ids.description}>
              <span className="field-label">{t('builder.description')}</span>
            </label>
            <input
              id={ids.description}
              type="text"
              value={form.description}
              disabled={!formHolds}
              onChange={(e) => onForm({ ...form, description: e.target.value })}
            />
          </div>
          <h3>{t('builder.who')}</h3>
          {formHolds ? (
            <GroupEditor node={form.root} onChange={(root) => onForm({ ...form, root })} choices={choices} depth={0} />
          ) : (
            <p className="note">{t('builder.yamlOnly')}</p>
          )}
        </section>
        <section className="card builder-yaml" aria-labelledby="h-yaml">
          <h2 id="h-yaml">{t('builder.yaml')}</h2>
          <YamlEditor
            value={yamlText}
            onChange={onYaml}
            check={(text) => checkSegmentYaml(text, running, editing ?? (form.id || undefined)).problems}
            label={t('builder.yaml')}
          />
          <div role="status" aria-live="polite" className="validation">
            {problems.length === 0 ? (
              <p className="ok">{t('builder.valid')}</p>
            ) : (
              <ul className="error">
                {problems.map((p) => (
                  <li key={p.message}>{p.message}</li>
                ))}
              </ul>
            )}
          </div>
        </section>
      </div>

      <section className="card estimate" aria-labelledby="h-estimate">
        <h2 id="h-estimate">{t('builder.estimateTitle')}</h2>
        <div className="row">
          {mayEstimate && (
            <button type="button" className="button secondary" disabled={problems.length > 0 || estimateRun.isPending} onClick={() => estimateRun.mutate()}>
              {t('builder.estimate')}
            </button>
          )}
          <output aria-live="polite" className="estimate-figure">
            {estimate &&
              (estimate.done
                ? t('builder.estimated', { matched: f.number(estimate.matched), scanned: f.number(estimate.scanned) })
                : t('builder.estimating', { matched: f.number(estimate.matched), scanned: f.number(estimate.scanned) }))}
          </output>
        </div>
        {estimate && estimate.startsEmpty.length > 0 && (
          <p className="note">{t('builder.startsEmpty', { events: estimate.startsEmpty.map((e) => e.event).join(', ') })}</p>
        )}
        {estimateRun.error && <ErrorNote error={estimateRun.error} />}
        <div className="row save-row">
          {mayEdit && (
            <button type="button" className="button" disabled={problems.length > 0 || idProblem || save.isPending} onClick={() => save.mutate()}>
              {t('builder.save')}
            </button>
          )}
          {save.error && <ErrorNote error={save.error} />}
        </div>
      </section>
    </>
  );
}
