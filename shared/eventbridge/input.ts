/**
 * What a rule's target receives: the whole event, a constant `Input`, the part selected by
 * `InputPath`, or the result of an `InputTransformer`, as EventBridge builds them — held to the
 * outcomes AWS recorded in tests/fixtures/eventbridge-input/cases.json
 * (tests/integration/eventbridge-input-cases.test.ts runs every case through the local bus).
 *
 * Predefined variables, as on AWS: `<aws.events.event.json>` is the whole event;
 * `<aws.events.event>` is NOT: it is the event's envelope without `detail`, with `detailType` in
 * camelCase and `time` the ingestion time. A target that needs the detail must use the `.json`
 * form (or `InputPath`, or an `InputPathsMap` entry for `$.detail`).
 */
import { CairnError } from '../errors';

export interface InputTransformer {
  InputPathsMap?: Record<string, string>;
  InputTemplate: string;
}
export interface TargetInputConfig {
  Input?: string;
  InputPath?: string;
  InputTransformer?: InputTransformer;
}
export interface RuleContext {
  ruleName: string;
  ruleArn: string;
  /** When the bus received the event (ISO 8601); the event's `time` when not given. */
  ingestionTime?: string;
}

const MISSING = Symbol('missing');

/** The variables EventBridge defines for every InputTemplate (`<aws.events.…>`). */
export const PREDEFINED_VARIABLES = [
  'aws.events.rule-arn',
  'aws.events.rule-name',
  'aws.events.event',
  'aws.events.event.json',
  'aws.events.event.ingestion-time',
] as const;

/** A placeholder: `<` name `>`. `<` and `>` cannot be escaped in an InputTemplate (AWS docs). */
const PLACEHOLDER = /<([^<>]+)>/y;

/** The names of the placeholders of a template, in order of appearance. */
export function templatePlaceholders(template: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < template.length; i++) {
    if (template[i] !== '<') continue;
    PLACEHOLDER.lastIndex = i;
    const m = PLACEHOLDER.exec(template);
    if (m) {
      out.push(m[1]!);
      i += m[0].length - 1;
    }
  }
  return out;
}

/**
 * `<aws.events.event>`: the original event's envelope — no `detail`, `detailType` in camelCase,
 * `time` the ingestion time — in the key order AWS delivers it.
 */
export function predefinedEvent(event: unknown, ingestionTime: string): Record<string, unknown> {
  const e = (event ?? {}) as Record<string, unknown>;
  return {
    id: e.id,
    account: e.account,
    detailType: e['detail-type'],
    time: ingestionTime,
    source: e.source,
    region: e.region,
    resources: e.resources,
    version: e.version,
  };
}

/** Parses the JSONPath subset EventBridge accepts (`$`, `$.a.b`, `$.a[0]`, `$['a b']`) into steps. */
export function parseJsonPath(path: string): (string | number)[] {
  if (!path.startsWith('$')) throw new CairnError('invalid_input_path', `JSON path "${path}" must start with $`, 400);
  const steps: (string | number)[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      const m = /^[^.[\]]+/.exec(path.slice(i + 1));
      if (!m) throw new CairnError('invalid_input_path', `JSON path "${path}" has an empty step at ${i}`, 400);
      steps.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === '[') {
      const m = /^\[(?:(\d+)|'([^']*)'|"([^"]*)")\]/.exec(path.slice(i));
      if (!m) throw new CairnError('invalid_input_path', `JSON path "${path}" has a malformed [] step at ${i}`, 400);
      steps.push(m[1] !== undefined ? Number(m[1]) : (m[2] ?? m[3])!);
      i += m[0].length;
    } else {
      throw new CairnError('invalid_input_path', `JSON path "${path}" is malformed at ${i}`, 400);
    }
  }
  return steps;
}

function select(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const step of parseJsonPath(path)) {
    if (cur === null || typeof cur !== 'object') return MISSING;
    const next = (cur as Record<string | number, unknown>)[step];
    if (next === undefined) return MISSING;
    cur = next;
  }
  return cur;
}

const invalid = (message: string) => new CairnError('invalid_target_input', message, 400);

function checkPath(path: unknown, what: string, targetId: string): void {
  if (typeof path !== 'string') throw invalid(`${what} for target ${targetId} must be a string.`);
  try {
    parseJsonPath(path);
  } catch (e) {
    throw invalid(`${what} for target ${targetId} is not valid: ${(e as Error).message}.`);
  }
}

/**
 * Validates a target's input settings as PutTargets does: at most one of the three, paths well
 * formed, and every `<placeholder>` of an InputTemplate either an InputPathsMap key or a predefined
 * variable. The messages of the cases AWS recorded are AWS's, word for word.
 */
export function validateTargetInput(t: TargetInputConfig, targetId: string): void {
  const set = [t.Input !== undefined, t.InputPath !== undefined, t.InputTransformer !== undefined].filter(Boolean).length;
  if (set > 1) throw invalid(`Only one of Input, InputPath, or InputTransformer must be provided for target ${targetId}.`);
  if (t.Input !== undefined) {
    try {
      JSON.parse(t.Input);
    } catch {
      throw invalid(`Input for target ${targetId} must be valid JSON text.`);
    }
  }
  if (t.InputPath !== undefined) checkPath(t.InputPath, 'InputPath', targetId);
  if (t.InputTransformer) {
    const tpl = t.InputTransformer.InputTemplate;
    if (typeof tpl !== 'string') throw invalid(`InputTransformer for target ${targetId} requires an InputTemplate.`);
    const map = t.InputTransformer.InputPathsMap ?? {};
    if (Object.keys(map).length > 100) throw invalid(`InputPathsMap for target ${targetId} may hold at most 100 entries.`);
    for (const [k, p] of Object.entries(map)) {
      if (!/^[A-Za-z0-9_-]+$/.test(k)) throw invalid(`InputPathsMap key "${k}" for target ${targetId} may only contain letters, digits, _ and -.`);
      if (/^aws\./i.test(k)) throw invalid(`InputPathsMap key "${k}" for target ${targetId} is reserved.`);
      checkPath(p, `InputPathsMap value of "${k}"`, targetId);
    }
    const known = new Set<string>([...Object.keys(map), ...PREDEFINED_VARIABLES]);
    const unknown = templatePlaceholders(tpl).find((name) => !known.has(name));
    if (unknown !== undefined) throw invalid(`InputTemplate for target ${targetId} contains invalid placeholder ${unknown}.`);
  }
}

/**
 * Fills an InputTransformer template; returns parsed JSON when the result is JSON, else the text.
 * Outside quotes a variable is inserted as JSON (a missing path as `""`); inside quotes as escaped
 * text (a missing path as nothing). Placeholders that are neither mapped nor predefined are left
 * as written (PutTargets refuses such templates: validateTargetInput).
 */
export function transformInput(event: unknown, tr: InputTransformer, ctx: RuleContext): unknown {
  const ingestionTime = ctx.ingestionTime ?? (event as { time?: string })?.time ?? new Date().toISOString();
  const vars = new Map<string, unknown>();
  for (const [k, p] of Object.entries(tr.InputPathsMap ?? {})) vars.set(k, select(event, p));
  vars.set('aws.events.rule-name', ctx.ruleName);
  vars.set('aws.events.rule-arn', ctx.ruleArn);
  vars.set('aws.events.event', predefinedEvent(event, ingestionTime));
  vars.set('aws.events.event.json', event);
  vars.set('aws.events.event.ingestion-time', ingestionTime);

  const tpl = tr.InputTemplate;
  let out = '';
  let inString = false;
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl[i]!;
    if (c === '<') {
      PLACEHOLDER.lastIndex = i;
      const m = PLACEHOLDER.exec(tpl);
      if (m && vars.has(m[1]!)) {
        const v = vars.get(m[1]!);
        const gone = v === MISSING || v === undefined;
        if (inString) {
          const text = gone || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
          out += JSON.stringify(text).slice(1, -1);
        } else {
          out += gone ? '""' : JSON.stringify(v);
        }
        i += m[0].length - 1;
        continue;
      }
    }
    if (c === '"') inString = !inString;
    else if (c === '\\' && inString) {
      out += c + (tpl[i + 1] ?? '');
      i++;
      continue;
    }
    out += c;
  }
  try {
    return JSON.parse(out);
  } catch {
    return out;
  }
}

/** The payload a target receives for `event`, honouring Input / InputPath / InputTransformer. */
export function targetInput(event: unknown, t: TargetInputConfig, ctx: RuleContext): unknown {
  if (t.Input !== undefined) return JSON.parse(t.Input);
  if (t.InputPath !== undefined) {
    const v = select(event, t.InputPath);
    return v === MISSING ? null : v;
  }
  if (t.InputTransformer) return transformInput(event, t.InputTransformer, ctx);
  return event;
}
