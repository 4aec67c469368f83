/**
 * Definition routes of the admin API (docs/api.md#admin-api, docs/definitions.md): computed traits, segments, journeys
 * and the policy across journeys (`/v1/policies/default`, docs/journeys.md#governance).
 *
 * - `GET /v1/<area>` lists, `GET /v1/<area>/{id}` shows `{kind, id, version, updatedAt, definition}`
 *   (`definition`: the document as written).
 * - `PUT /v1/<area>/{id}` takes the document (JSON, or YAML with `content-type: application/yaml`).
 *   It is validated alone and with the running set it would make (stored set + this one); any problem
 *   → 400 `invalid_definition` naming the field, and nothing changes. `201` created, `200` updated
 *   or unchanged (`result`). Journeys: every change is a new version and their EventBridge rules are
 *   synced on every PUT (journeys.ts).
 * - `DELETE /v1/<area>/{id}` → 409 `definition_in_use` while something refers to it. A journey is
 *   archived and hidden, never removed (journeys.ts).
 * - `GET /v1/segments/{id}/members?limit=&cursor=` → current members, paged; `GET /v1/segments/{id}/size` → how many.
 *
 * Applying or deleting a segment or computed trait starts a re-evaluation of every profile
 * (docs/segments.md, "Applying a definition").
 */
import { CairnError } from '../errors';
import { timelineDays } from '../config';
import { checkDefinition, checkSet, definitionError, type DefinitionIssue, type Definition, type DefinitionKind, type JourneyDef } from '../definitions';
import { getJourneyHead } from '../definitions/dynamo-versions';
import { deleteDefinition, getDefinition, listDefinitions, putDefinition, type StoredDefinition } from '../definitions/store';
import { log } from '../log';
import { countMembers, listMembers } from '../segments/members';
import type { AdminRouter } from '../http';
import type { JourneyRuleOptions } from '../journeys/rules';
import { applyJourney, endJourney, journeyView } from './journeys';

export const AREAS = {
  'computed-traits': 'computedTrait',
  segments: 'segment',
  journeys: 'journey',
  policies: 'policy',
} as const satisfies Record<string, DefinitionKind>;
export type Area = keyof typeof AREAS;

export interface DefinitionRouteDeps {
  /** The definitions table (CAIRN_DEFINITIONS_TABLE). */
  definitionsTable: string;
  /** Creates/updates a journey's EventBridge rules (shared/journeys/rules.ts). */
  syncJourneyRules(def: JourneyDef, opts?: JourneyRuleOptions): Promise<void>;
  removeJourneyRules(journeyId: string): Promise<void>;
  /** Starts the re-evaluation of every profile (functions/admin: a sweep schedule for λ recheck). */
  reevaluate(reason: string): Promise<void>;
  /** The segment members table (`GET /v1/segments/{id}/members`). */
  membersTable: string;
  /** Waits between attempts to start it (default REEVALUATE_BACKOFF_MS). */
  reevaluateBackoffMs?: readonly number[];
}

/** Backoff between attempts to schedule a sweep after a definition changes (4 attempts, about 3.5 s). */
export const REEVALUATE_BACKOFF_MS = [250, 1_000, 2_000] as const;

export interface DefinitionView {
  kind: DefinitionKind;
  id: string;
  version: number;
  updatedAt: string;
  /** Journeys: `active`, `paused` or `archived` (docs/journeys.md#versions). */
  status?: string;
  definition: unknown;
}

const view = (s: StoredDefinition): DefinitionView => ({
  kind: s.kind,
  id: s.id,
  version: s.version,
  updatedAt: s.updatedAt,
  ...(s.status ? { status: s.status } : {}),
  definition: s.definition.source,
});

const notFound = (kind: DefinitionKind, id: string) => new CairnError('definition_not_found', `no ${kind} "${id}"`, 404);

function issue(file: string, id: string | undefined, path: (string | number)[], message: string): DefinitionIssue {
  const field = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p)).join('') || '(document)';
  return { file, index: 0, ...(id ? { id } : {}), path, message, text: `${file}: document 0${id ? ` (id: ${id})` : ''}: ${field}: ${message}` };
}

/** Validates a PUT body for `kind`/`id` alone and as part of `running` (the other stored definitions). */
export function validatePut(kind: DefinitionKind, id: string, body: unknown, running: Definition[], file = 'request body'): Definition {
  if (body === undefined) throw new CairnError('invalid_definition', `${file}: the definition document is required`, 400);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CairnError('invalid_definition', `${file}: must be one definition document (a mapping)`, 400);
  }
  const doc = { ...(body as Record<string, unknown>) };
  // The route names the kind; a document may omit it, but may not contradict it.
  doc.kind ??= kind;
  const docId = typeof doc.id === 'string' ? doc.id : undefined;
  const pre: DefinitionIssue[] = [];
  if (doc.kind !== kind) pre.push(issue(file, docId, ['kind'], `must be ${JSON.stringify(kind)} on this route, not ${JSON.stringify(doc.kind)}`));
  if (docId !== undefined && docId !== id)
    pre.push(issue(file, docId, ['id'], `${JSON.stringify(docId)} does not match the id in the URL (${JSON.stringify(id)})`));
  if (pre.length) throw definitionError(pre);
  const { def, issues } = checkDefinition(doc, { file, index: 0 });
  if (!def) throw definitionError(issues);
  const set = [...running.filter((d) => !(d.kind === kind && d.id === id)), def];
  const setIssues = checkSet(set);
  if (setIssues.length) throw definitionError(setIssues);
  checkTimelineRetention(def);
  return def;
}

/** The longest rolling window (`window:` of a computed trait, `within:` of an event condition) in a definition, in ms. */
export function longestWindowMs(def: unknown): number {
  let max = 0;
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'windowMs' || k === 'withinMs') && typeof x === 'number') max = Math.max(max, x);
        else walk(x);
      }
    }
  };
  walk(def);
  return max;
}

/**
 * A definition may not look back further than the timeline keeps events (TIMELINE, `cairn:timelineDays`):
 * `window_exceeds_timeline` (docs/errors.md) otherwise.
 */
export function checkTimelineRetention(def: Definition, days = timelineDays()): void {
  const ms = longestWindowMs(def);
  if (ms <= days * 86_400_000) return;
  const windowDays = Math.round((ms / 86_400_000) * 100) / 100;
  throw new CairnError(
    'window_exceeds_timeline',
    `${def.kind} ${def.id}: a window of ${windowDays} days is longer than the timeline keeps events (${days} days, cairn:timelineDays): shorten the window or deploy with a longer cairn:timelineDays`,
    400,
    { windowDays, timelineDays: days },
  );
}

const sameSource = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function registerDefinitionRoutes(router: AdminRouter, deps: DefinitionRouteDeps): AdminRouter {
  const reevaluate = deps.reevaluate;
  const backoff = deps.reevaluateBackoffMs ?? REEVALUATE_BACKOFF_MS;
  const table = deps.definitionsTable;
  const running = (): Promise<StoredDefinition[]> => listDefinitions(table);
  /**
   * Starts the sweep, retrying a failure with bounded backoff. If it still fails, `undo` puts the
   * previous definition back (so a retried PUT is a change again and starts the sweep) and the
   * request fails with a retryable 503.
   */
  const startReevaluation = async (reason: string, undo: () => Promise<unknown>) => {
    let error: unknown;
    for (let attempt = 0; attempt <= backoff.length; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, backoff[attempt - 1]));
      try {
        return await reevaluate(reason);
      } catch (e) {
        error = e;
      }
    }
    log('warn', 'definitions.reevaluate_failed', { reason, attempts: backoff.length + 1, error: (error as Error)?.message });
    let undone = true;
    try {
      await undo();
    } catch (e) {
      undone = false;
      log('error', 'definitions.reevaluate_undo_failed', { reason, error: (e as Error).message });
    }
    throw new CairnError(
      'reevaluation_unavailable',
      `the re-evaluation of existing profiles (${reason}) could not be scheduled; ${undone ? 'the change was undone' : 'the change could not be undone'}, retry the request`,
      503,
    );
  };

  for (const [area, kind] of Object.entries(AREAS) as [Area, DefinitionKind][]) {
    router.add('GET', `/v1/${area}`, async () => {
      const items = (await listDefinitions(table, kind)).map(view);
      return { status: 200, body: { items } };
    });

    router.add('GET', `/v1/${area}/{id}`, async (req) => {
      if (kind === 'journey') {
        const h = await getJourneyHead(table, req.params.id!);
        if (!h || h.status === 'deleted') throw notFound(kind, req.params.id!);
        return { status: 200, body: journeyView(h) };
      }
      const s = await getDefinition(table, kind, req.params.id!);
      if (!s) throw notFound(kind, req.params.id!);
      return { status: 200, body: view(s) };
    });

    router.add('PUT', `/v1/${area}/{id}`, async (req) => {
      const id = req.params.id!;
      const stored = await running();
      const def = validatePut(
        kind,
        id,
        req.body,
        stored.map((s) => s.definition),
        `PUT /v1/${area}/${id}`,
      );
      if (def.kind === 'journey') {
        const a = await applyJourney(deps, def, `PUT /v1/${area}/${id}`);
        return {
          status: a.result === 'created' ? 201 : 200,
          body: { ...journeyView(a.head), result: a.result, ...(a.sameAs.length ? { sameAs: a.sameAs } : {}), ...(a.migrated ? { migrated: a.migrated } : {}) },
        };
      }
      const current = stored.find((s) => s.kind === kind && s.id === id);
      let result: 'created' | 'updated' | 'unchanged';
      let out: StoredDefinition;
      if (current && sameSource(current.definition.source, def.source)) {
        result = 'unchanged';
        out = current;
      } else {
        const now = new Date();
        let version: number;
        try {
          version = await putDefinition(table, def, now);
        } catch (e) {
          if ((e as Error).name === 'ConditionalCheckFailedException') {
            throw new CairnError('definition_conflict', `${kind} "${id}" was changed by another request at the same time; retry`, 409);
          }
          throw e;
        }
        result = current ? 'updated' : 'created';
        out = { kind, id, definition: def, version, updatedAt: now.toISOString() };
      }
      // Journeys and the policy act on what happens next; nothing stored about profiles depends on them.
      if (result !== 'unchanged' && kind !== 'policy') {
        await startReevaluation(`${kind}:${id}`, () => (current ? putDefinition(table, current.definition) : deleteDefinition(table, kind, id)));
      }
      return { status: result === 'created' ? 201 : 200, body: { ...view(out), result } };
    });

    router.add('DELETE', `/v1/${area}/{id}`, async (req) => {
      const id = req.params.id!;
      const stored = await running();
      const current = stored.find((s) => s.kind === kind && s.id === id);
      if (!current) throw notFound(kind, id);
      const rest = stored.filter((s) => s !== current).map((s) => s.definition);
      const issues = checkSet(rest);
      if (issues.length) {
        const users = [...new Set(issues.map((i) => `${i.kind ?? 'definition'} "${i.id}" (${i.path.join('.')})`))];
        throw new CairnError('definition_in_use', `${kind} "${id}" is still used by ${users.join(', ')}`, 409, {
          usedBy: issues.map((i) => ({ kind: i.kind, id: i.id, message: i.message })),
        });
      }
      if (kind === 'journey') {
        // Archived and hidden, never removed: its versions stay and its runs end `archived` (journeys.ts).
        const head = await getJourneyHead(table, id);
        if (!head || head.status === 'deleted') throw notFound(kind, id);
        const ended = await endJourney(deps, head, 'deleted');
        return { status: 200, body: { kind, id, deleted: true, version: ended.version } };
      }
      await deleteDefinition(table, kind, id);
      if (kind !== 'policy') await startReevaluation(`${kind}:${id}:deleted`, () => putDefinition(table, current.definition));
      return { status: 200, body: { kind, id, deleted: true } };
    });
  }

  router.add('GET', '/v1/segments/{id}/members', async (req) => {
    const id = req.params.id!;
    if (!(await getDefinition(table, 'segment', id))) throw notFound('segment', id);
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    return { status: 200, body: await listMembers(deps.membersTable, id, { limit, ...(req.query.cursor ? { cursor: req.query.cursor } : {}) }) };
  });
  // How many members now (the console's segment list): a count of the members index, no member named.
  router.add('GET', '/v1/segments/{id}/size', async (req) => {
    const id = req.params.id!;
    if (!(await getDefinition(table, 'segment', id))) throw notFound('segment', id);
    const at = new Date().toISOString();
    return { status: 200, body: { segment: id, size: await countMembers(deps.membersTable, id), at } };
  });
  return router;
}
