/**
 * A journey as a drawing (docs/console.md#journeys): its trigger, then its steps top to bottom —
 * actions, waits, branches (then on the left, else on the right, joining again below), exits — and
 * where runs end (completed, or exited by the journey's exit rule). Each node carries the counts the
 * journey's stats hold for it (`GET /v1/journeys/{id}/stats`: actions count sent / failed / skipped;
 * the trigger entered and held out; the end completed and exited). Pure: the page draws it with
 * @xyflow/react; tests check it without a browser.
 */
import type { JourneyDef, Step } from '#shared/definitions';

export type FlowKind = 'trigger' | 'action' | 'wait' | 'waitUntil' | 'branch' | 'exit' | 'end';

export type CountKey = 'entered' | 'held_out' | 'sent' | 'failed' | 'skipped' | 'issued' | 'redeemed' | 'completed' | 'exited';

export interface FlowCount {
  /** Message key (journeys.count.<key>). */
  key: CountKey;
  value: number;
}

export interface FlowNode {
  id: string;
  kind: FlowKind;
  /** What it is: `email`, `wait`, `event`, … */
  type: string;
  /** The step id, or the trigger / end. */
  title: string;
  /** One line of what it does (the trigger event, the wait's duration, the email subject, …). */
  detail: string;
  counts: FlowCount[];
  x: number;
  y: number;
}

export interface FlowEdge {
  id: string;
  source: string;
  target: string;
  /** `then` / `else` on a branch's two ways, `timeout` where a wait-until gives up, `exit` to the end. */
  label?: 'then' | 'else' | 'timeout';
}

/** The counters `GET /v1/journeys/{id}/stats` answers (as much as the drawing reads). */
export interface StatsLike {
  entered?: number;
  completed?: number;
  exited?: number;
  held_out?: number;
  capped?: number;
  no_consent?: number;
  not_in_audience?: number;
  already_active?: number;
  steps?: Record<string, { type?: string; sent?: number; failed?: number; skipped?: number; redeemed?: number }>;
}

export const NODE_W = 230;
export const NODE_H = 96;
const GAP_X = 30;
const GAP_Y = 46;

function detailOf(s: Step): string {
  switch (s.type) {
    case 'action':
      switch (s.action) {
        case 'email':
          return s.subject;
        case 'sms':
          return s.text;
        case 'webhook':
          return `${s.method} ${s.url}`;
        case 'traits':
          return [...Object.keys(s.set ?? {}), ...(s.unset ?? []).map((k) => `−${k}`)].join(', ');
        case 'event':
          return s.name;
        case 'coupon':
          return s.pool;
      }
      return '';
    case 'wait':
      return s.duration;
    case 'waitUntil':
      return `${s.event} · ${s.timeout}`;
    case 'branch':
      return '';
    case 'exit':
      return '';
  }
}

function countsOf(s: Step, stats: StatsLike | undefined): FlowCount[] {
  if (s.type !== 'action') return [];
  const st = stats?.steps?.[s.id];
  const out: FlowCount[] = [
    { key: 'sent', value: st?.sent ?? 0 },
    { key: 'failed', value: st?.failed ?? 0 },
    { key: 'skipped', value: st?.skipped ?? 0 },
  ];
  if (s.action === 'coupon') {
    out[0] = { key: 'issued', value: st?.sent ?? 0 };
    out.push({ key: 'redeemed', value: st?.redeemed ?? 0 });
  }
  return out;
}

/** The width a list of steps needs (a branch needs its two ways side by side). */
function widthOf(steps: Step[]): number {
  let w = NODE_W;
  for (const s of steps) if (s.type === 'branch') w = Math.max(w, widthOf(s.then) + GAP_X + widthOf(s.else));
  return w;
}

export function journeyFlow(j: JourneyDef, stats?: StatsLike): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const nodes: FlowNode[] = [];
  const edges: FlowEdge[] = [];
  const width = widthOf(j.steps);
  const trigger: FlowNode = {
    id: 'trigger',
    kind: 'trigger',
    type: j.trigger.type === 'event' ? 'event' : 'segment',
    title: 'trigger',
    detail: j.trigger.type === 'event' ? j.trigger.event : `${j.trigger.segment} (${j.trigger.on})`,
    counts: [{ key: 'entered', value: stats?.entered ?? 0 }, ...(j.holdout ? [{ key: 'held_out' as const, value: stats?.held_out ?? 0 }] : [])],
    x: width / 2 - NODE_W / 2,
    y: 0,
  };
  nodes.push(trigger);
  const end: FlowNode = {
    id: 'end',
    kind: 'end',
    type: 'end',
    title: 'end',
    detail: j.exit ? (j.exit.type === 'event' ? j.exit.event : 'condition') : '',
    counts: [
      { key: 'completed', value: stats?.completed ?? 0 },
      { key: 'exited', value: stats?.exited ?? 0 },
    ],
    x: 0,
    y: 0,
  };
  let edgeN = 0;
  const edge = (source: string, target: string, label?: FlowEdge['label']) => edges.push({ id: `e${++edgeN}`, source, target, ...(label ? { label } : {}) });

  /**
   * Lays out `steps` from row `y` in a column `width` wide starting at `left`; the previous nodes
   * (`from`, with the label of their way out) lead into the first. Returns the nodes that lead on
   * (none when every way exits) and the next free row.
   */
  const place = (steps: Step[], from: { id: string; label?: FlowEdge['label'] }[], left: number, colWidth: number, y: number) => {
    let open = from;
    let row = y;
    for (const s of steps) {
      const node: FlowNode = {
        id: `step:${s.id}`,
        kind: s.type === 'action' ? 'action' : s.type,
        type: s.type === 'action' ? s.action : s.type,
        title: s.id,
        detail: detailOf(s),
        counts: countsOf(s, stats),
        x: left + colWidth / 2 - NODE_W / 2,
        y: row,
      };
      nodes.push(node);
      for (const o of open) edge(o.id, node.id, o.label);
      row += NODE_H + GAP_Y;
      if (s.type === 'exit') {
        edge(node.id, end.id);
        open = [];
        break;
      }
      if (s.type === 'branch') {
        const tw = widthOf(s.then);
        const ew = widthOf(s.else);
        const total = tw + GAP_X + ew;
        const start = left + (colWidth - total) / 2;
        const a = s.then.length ? place(s.then, [{ id: node.id, label: 'then' }], start, tw, row) : { open: [{ id: node.id, label: 'then' as const }], row };
        const b = s.else.length
          ? place(s.else, [{ id: node.id, label: 'else' }], start + tw + GAP_X, ew, row)
          : { open: [{ id: node.id, label: 'else' as const }], row };
        open = [...a.open, ...b.open];
        row = Math.max(a.row, b.row);
        continue;
      }
      if (s.type === 'waitUntil' && s.onTimeout === 'exit') edge(node.id, end.id, 'timeout');
      open = [{ id: node.id }];
    }
    return { open, row };
  };
  const out = place(j.steps, [{ id: trigger.id }], 0, width, NODE_H + GAP_Y);
  end.x = width / 2 - NODE_W / 2;
  end.y = out.row;
  nodes.push(end);
  for (const o of out.open) edge(o.id, end.id, o.label);
  return { nodes, edges };
}
