/**
 * `npx cairn apply <file|dir>` (docs/definitions.md#admin-api-applying-definitions): every
 * .yaml/.yml/.json file (a directory is read recursively, in path order, skipping folders whose name
 * starts with `.` or `_`) is parsed (apply-time
 * variables from the environment) and validated, then checked as a set together with what the
 * stack already runs; any problem → nothing is applied, each error names its file, document and
 * field. Then the policy, computed traits, segments (each after those it refers to) and journeys are PUT to the
 * admin API, one line per definition: created, updated or unchanged.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CairnError } from '#shared/errors';
import { checkFiles, checkSet, definitionError, segmentOrder, validateDefinition, type Definition, type SegmentDef, type Variables } from '#shared/definitions';
import { adminGet, adminSend, answerError, type Target } from './http';

const EXT = /\.(ya?ml|json)$/i;
const AREA = { computedTrait: 'computed-traits', segment: 'segments', journey: 'journeys', policy: 'policies' } as const;

/** The definition files at `path` (a file, or every matching file under a directory). */
export function definitionFiles(path: string, cwd: string): { file: string; text: string }[] {
  const abs = resolve(cwd, path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(abs);
  } catch {
    throw new CairnError('usage', `cannot read ${path}: no such file or directory`, 400);
  }
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      // `_name/` folders hold what is applied on its own, file by file (drafts, the versions walkthrough of examples/_versions).
      if (e.isDirectory()) {
        if (!e.name.startsWith('_')) walk(p);
      } else if (EXT.test(e.name)) files.push(p);
    }
  };
  if (st.isDirectory()) walk(abs);
  else files.push(abs);
  if (!files.length) throw new CairnError('usage', `no .yaml, .yml or .json files in ${path}`, 400);
  const label = (f: string) => (st.isDirectory() ? relative(abs, f) : relative(cwd, f) || f);
  return files.map((f) => ({ file: label(f), text: readFileSync(f, 'utf8') }));
}

/** Definitions the stack runs now, or [] when it cannot say (validation then covers the files alone). */
async function remoteDefinitions(t: Target): Promise<Definition[]> {
  const out: Definition[] = [];
  for (const [kind, area] of Object.entries(AREA)) {
    const a = await adminGet(t, `/v1/${area}`);
    if (a.status === 401 || a.status === 403)
      throw new CairnError('unauthorized', `${a.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN)`, a.status);
    if (a.status !== 200) throw answerError(a, `listing ${area} failed`);
    const items = (a.json as { items?: { id: string; definition: unknown }[] })?.items ?? [];
    items.forEach((it, index) => {
      try {
        out.push(validateDefinition(it.definition, { file: `running ${kind}`, index }));
      } catch {
        // a stored definition this CLI cannot read (newer grammar): the stack checks it
      }
    });
  }
  return out;
}

/**
 * Parses and validates the files (apply-time variables from `vars`) and the set they make with
 * `running` (null: the documents only); throws `invalid_definition` listing every problem.
 */
export function validateForApply(files: { file: string; text: string }[], running: Definition[] | null, vars?: Variables): Definition[] {
  const { defs, issues } = checkFiles(files, { vars });
  if (!issues.length && running) {
    const mine = new Set(defs.map((d) => `${d.kind}#${d.id}`));
    const set = [...running.filter((d) => !mine.has(`${d.kind}#${d.id}`)), ...defs];
    // Problems of the running set alone are not the files' fault.
    const before = new Set(checkSet(running).map((i) => i.text));
    issues.push(...checkSet(set).filter((i) => !before.has(i.text)));
  }
  if (issues.length) throw definitionError(issues);
  return defs;
}

/**
 * Dependency order: the policy (so that journeys applied with it are governed from their first
 * message), computed traits, segments after the segments they use, journeys.
 */
export function applyOrder(defs: Definition[]): Definition[] {
  return [
    ...defs.filter((d) => d.kind === 'policy'),
    ...defs.filter((d) => d.kind === 'computedTrait'),
    ...segmentOrder(defs.filter((d): d is SegmentDef => d.kind === 'segment')),
    ...defs.filter((d) => d.kind === 'journey'),
  ];
}

export interface Applied {
  kind: Definition['kind'];
  id: string;
  result: 'created' | 'updated' | 'unchanged';
  version: number;
}

/**
 * Applies the definition files at `path`. `vars`: values of the files' apply-time variables
 * (`${CAIRN_NAME:-default}`; the CLI passes its environment); absent, every variable takes its default.
 */
export async function applyPath(t: Target, path: string, cwd: string, line: (s: string) => void, vars?: Variables): Promise<Applied[]> {
  const files = definitionFiles(path, cwd);
  // Syntax and document errors first, before asking the stack anything.
  validateForApply(files, null, vars);
  const defs = applyOrder(validateForApply(files, await remoteDefinitions(t), vars));
  const out: Applied[] = [];
  for (const d of defs) {
    const a = await adminSend(t, 'PUT', `/v1/${AREA[d.kind]}/${encodeURIComponent(d.id)}`, { ...d.source, kind: d.kind });
    if (a.status !== 200 && a.status !== 201) {
      const e = answerError(a, 'apply failed');
      throw new CairnError(
        e.code,
        `${d.origin.file}: document ${d.origin.index} (id: ${d.id}): ${e.message}${out.length ? ` (${out.length} definition(s) applied before this one)` : ''}`,
        e.status,
      );
    }
    const body = a.json as { result?: Applied['result']; version?: number; sameAs?: number[]; migrated?: { from: number; to: number } };
    const r: Applied = { kind: d.kind, id: d.id, result: body.result ?? (a.status === 201 ? 'created' : 'updated'), version: body.version ?? 0 };
    out.push(r);
    // Journeys: a rollback (the document of an earlier version) and a migration are worth a word.
    const notes = [
      ...(body.sameAs?.length ? [`same content as version ${body.sameAs.join(', ')}`] : []),
      ...(body.migrated ? [`waiting runs of version ${body.migrated.from} move to it`] : []),
    ];
    line(`${r.result.padEnd(9)} ${d.kind.padEnd(13)} ${d.id} (version ${r.version}${notes.map((n) => `; ${n}`).join('')})\n`);
  }
  return out;
}
