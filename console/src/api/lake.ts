/**
 * Lake queries (docs/api.md#lake-queries) as the pages use them: start once, poll with backoff while
 * the engine runs, show progress, cancel. Runs are shared by key (a page drawn twice starts one query)
 * and a finished one is kept for a while, so coming back to a page answers at once; a run nobody
 * watches any more is cancelled (Athena bills what it scans).
 */
import { useCallback, useEffect, useSyncExternalStore } from 'react';
import { api } from './client';

export type Cell = string | number | boolean | null | Cell[] | { [k: string]: Cell };
export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: Cell[][];
  truncated: boolean;
}
export type LakeState = 'starting' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'error';

export interface LakeRun {
  id?: string;
  state: LakeState;
  progress: { elapsedMs?: number; scannedBytes?: number };
  reason?: string;
  result?: QueryResult;
  error?: unknown;
  /** When it finished (ms), for "as of". */
  doneAt?: number;
}

export interface LakeRequest {
  query: string;
  options?: Record<string, string | boolean | undefined>;
  journey?: string;
}

interface Entry {
  run: LakeRun;
  listeners: Set<() => void>;
  watchers: number;
  stop?: () => void;
}

const runs = new Map<string, Entry>();
/** How long a finished run answers again without asking the lake (the data moves slowly). */
const FRESH_MS = 60_000;
const KEEP = 40;

const keyOf = (r: LakeRequest) =>
  JSON.stringify([
    r.query,
    r.journey ?? null,
    Object.entries(r.options ?? {})
      .filter(([, v]) => v !== undefined && v !== '')
      .sort(),
  ]);

const active = (s: LakeState) => s === 'starting' || s === 'queued' || s === 'running';

function set(e: Entry, run: LakeRun) {
  e.run = run;
  for (const l of e.listeners) l();
}

interface View {
  id: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: { elapsedMs?: number; scannedBytes?: number };
  reason?: string;
  result?: QueryResult;
}

function start(e: Entry, r: LakeRequest) {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ctl = new AbortController();
  e.stop = () => {
    stopped = true;
    ctl.abort();
    if (timer) clearTimeout(timer);
  };
  set(e, { state: 'starting', progress: {} });
  const body = {
    query: r.query,
    options: Object.fromEntries(Object.entries(r.options ?? {}).filter(([, v]) => v !== undefined && v !== '')),
    ...(r.journey ? { journey: r.journey } : {}),
  };
  const poll = async (id: string, wait: number) => {
    if (stopped) return;
    try {
      const v = await api<View>(`/v1/lake/queries/${encodeURIComponent(id)}`, { signal: ctl.signal });
      if (stopped) return;
      set(e, { id, state: v.state, progress: v.progress, reason: v.reason, result: v.result, ...(active(v.state) ? {} : { doneAt: Date.now() }) });
      // Every 100 ms for the first seconds (a local query takes a fraction of one), then backing off to every 2 s.
      if (active(v.state)) timer = setTimeout(() => void poll(id, (v.progress.elapsedMs ?? 0) < 2_000 ? 100 : Math.min(2_000, wait * 1.6)), wait);
    } catch (err) {
      if (!stopped) set(e, { ...e.run, state: 'error', error: err, doneAt: Date.now() });
    }
  };
  api<View>('/v1/lake/queries', { method: 'POST', body, signal: ctl.signal })
    .then((v) => {
      if (stopped) {
        // Started after all: nobody wants it any more.
        void api(`/v1/lake/queries/${encodeURIComponent(v.id)}`, { method: 'DELETE' }).catch(() => undefined);
        return;
      }
      set(e, { id: v.id, state: v.state, progress: v.progress ?? {} });
      // The first look sooner: a small query on the local lake is done in well under 100 ms.
      timer = setTimeout(() => void poll(v.id, 100), 50);
    })
    .catch((err) => {
      if (!stopped) set(e, { state: 'error', progress: {}, error: err, doneAt: Date.now() });
    });
}

function cancel(e: Entry) {
  const id = e.run.id;
  e.stop?.();
  if (!active(e.run.state)) return;
  set(e, { ...e.run, state: 'cancelled', reason: undefined, doneAt: Date.now() });
  if (id)
    void api<View>(`/v1/lake/queries/${encodeURIComponent(id)}`, { method: 'DELETE' })
      .then((v) => set(e, { ...e.run, state: v.state, reason: v.reason }))
      .catch(() => undefined);
}

function entry(key: string): Entry {
  let e = runs.get(key);
  if (!e) {
    e = { run: { state: 'starting', progress: {} }, listeners: new Set(), watchers: 0 };
    runs.set(key, e);
    // Forget the oldest finished runs nobody watches.
    for (const [k, old] of runs) {
      if (runs.size <= KEEP) break;
      if (old.watchers === 0 && !active(old.run.state)) runs.delete(k);
    }
  }
  return e;
}

const IDLE: LakeRun = { state: 'starting', progress: {} };

/** Runs `request` on the lake (when `enabled`) and follows it; `cancel` stops it, `rerun` starts it again. */
export function useLakeQuery(request: LakeRequest | null): LakeRun & { cancel(): void; rerun(): void } {
  const key = request ? keyOf(request) : null;
  const run = useSyncExternalStore(
    useCallback(
      (l: () => void) => {
        if (!key) return () => {};
        const e = entry(key);
        e.listeners.add(l);
        return () => e.listeners.delete(l);
      },
      [key],
    ),
    () => (key ? entry(key).run : IDLE),
  );
  // The key says everything the request does.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the request is described by its key
  useEffect(() => {
    if (!key || !request) return;
    const e = entry(key);
    e.watchers++;
    const stale = !active(e.run.state) && (e.run.state !== 'succeeded' || !e.run.doneAt || Date.now() - e.run.doneAt > FRESH_MS);
    if ((e.run.state === 'starting' && !e.stop) || stale) start(e, request);
    return () => {
      e.watchers--;
      // Let a page that is drawn again at once (React's strict mode, a quick back-and-forth) keep it.
      setTimeout(() => {
        if (e.watchers === 0 && active(e.run.state)) cancel(e);
      }, 1_000);
    };
  }, [key]);
  return {
    ...run,
    cancel: () => key && cancel(entry(key)),
    rerun: () => {
      if (!key || !request) return;
      const e = entry(key);
      e.stop?.();
      start(e, request);
    },
  };
}

/** The rows of a result as objects keyed by column name. */
export function rowsOf(r: QueryResult | undefined): Record<string, Cell>[] {
  if (!r) return [];
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] ?? null])));
}

export const num = (v: Cell | undefined): number | null =>
  typeof v === 'number' ? v : v === null || v === undefined || v === '' ? null : Number.isFinite(Number(v)) ? Number(v) : null;
