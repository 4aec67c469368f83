/**
 * What a rule's target receives: the whole event, a constant `Input`, the part selected by
 * `InputPath`, or the result of an `InputTransformer`, as EventBridge builds them.
 */
import { CairnError } from '../errors';

export interface InputTransformer { InputPathsMap?: Record<string, string>; InputTemplate: string }
export interface TargetInputConfig { Input?: string; InputPath?: string; InputTransformer?: InputTransformer }
export interface RuleContext { ruleName: string; ruleArn: string; ingestionTime?: string }

const MISSING = Symbol('missing');

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

/** Validates a target's input settings (PutTargets): at most one of the three, paths well formed. */
export function validateTargetInput(t: TargetInputConfig): void {
  const set = [t.Input !== undefined, t.InputPath !== undefined, t.InputTransformer !== undefined].filter(Boolean).length;
  if (set > 1) throw new CairnError('invalid_target_input', 'Only one of Input, InputPath, or InputTransformer may be set', 400);
  if (t.Input !== undefined) {
    try {
      JSON.parse(t.Input);
    } catch {
      throw new CairnError('invalid_target_input', 'Input must be valid JSON text', 400);
    }
  }
  if (t.InputPath !== undefined) parseJsonPath(t.InputPath);
  if (t.InputTransformer) {
    if (typeof t.InputTransformer.InputTemplate !== 'string') throw new CairnError('invalid_target_input', 'InputTransformer.InputTemplate is required', 400);
    const map = t.InputTransformer.InputPathsMap ?? {};
    if (Object.keys(map).length > 100) throw new CairnError('invalid_target_input', 'InputPathsMap may hold at most 100 entries', 400);
    for (const [k, p] of Object.entries(map)) {
      if (!/^[A-Za-z0-9_-]+$/.test(k)) throw new CairnError('invalid_target_input', `InputPathsMap key "${k}" may only contain letters, digits, _ and -`, 400);
      if (k.startsWith('aws.')) throw new CairnError('invalid_target_input', `InputPathsMap key "${k}" is reserved`, 400);
      parseJsonPath(p);
    }
  }
}

/** Fills an InputTransformer template; returns parsed JSON when the result is JSON, else the text. */
export function transformInput(event: unknown, tr: InputTransformer, ctx: RuleContext): unknown {
  const vars = new Map<string, unknown>();
  for (const [k, p] of Object.entries(tr.InputPathsMap ?? {})) vars.set(k, select(event, p));
  vars.set('aws.events.rule-name', ctx.ruleName);
  vars.set('aws.events.rule-arn', ctx.ruleArn);
  vars.set('aws.events.event', event);
  vars.set('aws.events.event.json', event);
  vars.set('aws.events.event.ingestion-time', ctx.ingestionTime ?? (event as { time?: string })?.time ?? new Date().toISOString());

  const tpl = tr.InputTemplate;
  let out = '';
  let inString = false;
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl[i]!;
    if (c === '<') {
      const m = /^<([A-Za-z0-9_.-]+)>/.exec(tpl.slice(i));
      if (m && vars.has(m[1]!)) {
        const v = vars.get(m[1]!);
        if (inString) {
          const text = v === MISSING || v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
          out += JSON.stringify(text).slice(1, -1);
        } else {
          out += v === MISSING || v === undefined ? 'null' : JSON.stringify(v);
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
