/**
 * How `npx cairn demo` (cli/demo.ts) talks to the stack it fills: is one running, creating the demo
 * sources, cutting the history into collector requests and posting them, reading `/v1/status` to
 * wait for the pipeline to drain, counting segment members, looking a person up by each identifier.
 */
import { ENV, TABLES } from '#shared/config';
import { DEMO_SOURCES, type DemoMessage, type DemoSourceKey, type Persona } from '#shared/demo';
import { pathParam } from '#shared/http';
import { adminGet, answerError, collectPost, type Target } from './http';
import { MAX_BATCH_BYTES } from './send';
import { sleep } from '#shared/lang';

export async function healthy(baseUrl: string): Promise<boolean> {
  try {
    const r = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Creates the four demo sources in the stack's sources table (through its DynamoDB endpoint). */
export async function seedSources(t: Target, inProcess: boolean): Promise<boolean> {
  try {
    if (!inProcess) {
      const a = await adminGet(t, '/_aws/endpoints');
      const dynamodb = (a.json as { dynamodb?: string } | undefined)?.dynamodb;
      if (a.status !== 200 || !dynamodb) return false;
      const { useEndpoints } = await import('#local/emulators');
      useEndpoints({ dynamodb });
      process.env.AWS_REGION ??= 'us-east-1';
    }
    const { ensureSource } = await import('#shared/collect/sources');
    const table = process.env[ENV.sourcesTable] || TABLES.sources.name;
    for (const s of Object.values(DEMO_SOURCES)) await ensureSource(table, s.writeKey, s.sourceId, s.name, s.trust);
    return true;
  } catch {
    return false;
  }
}

/** Chronological request bodies: the history cut into day-long slices, one batch per source per slice. */
export function historyRequests(messages: DemoMessage[], maxMessages = 1000): { source: DemoSourceKey; messages: DemoMessage['message'][] }[] {
  const out: { source: DemoSourceKey; messages: DemoMessage['message'][] }[] = [];
  let day = '';
  let open = new Map<DemoSourceKey, DemoMessage['message'][]>();
  let bytes = new Map<DemoSourceKey, number>();
  const flush = () => {
    for (const [source, msgs] of open) if (msgs.length) out.push({ source, messages: msgs });
    open = new Map();
    bytes = new Map();
  };
  for (const m of messages) {
    const d = String(m.message.timestamp).slice(0, 10);
    if (d !== day) {
      flush();
      day = d;
    }
    const size = JSON.stringify(m.message).length + 1;
    const cur = open.get(m.source) ?? [];
    if (cur.length >= maxMessages || (bytes.get(m.source) ?? 0) + size > MAX_BATCH_BYTES) {
      out.push({ source: m.source, messages: cur });
      open.set(m.source, []);
      bytes.set(m.source, 0);
    }
    if (!open.has(m.source)) open.set(m.source, []);
    open.get(m.source)!.push(m.message);
    bytes.set(m.source, (bytes.get(m.source) ?? 0) + size);
  }
  flush();
  return out;
}

export async function post(t: Target, messages: DemoMessage['message'][]): Promise<void> {
  // collectPost retries 429 and 5xx itself.
  const a = await collectPost(t, '/v1/batch', JSON.stringify({ batch: messages }));
  if (a.status !== 200) throw answerError(a, 'batch rejected');
}

export interface StatusFigures {
  behind: number;
  busy: number;
  normalized: number;
  resolved: number;
}
export async function figures(t: Target): Promise<StatusFigures | undefined> {
  const a = await adminGet(t, '/v1/status');
  if (a.status !== 200) return undefined;
  const s = a.json as {
    streams?: Record<string, { recordsBehind?: number; consumers?: Record<string, { exact?: boolean }> }>;
    functions?: Record<string, { records?: number }>;
    services?: Record<string, { status?: { pending?: number; inFlight?: number } }>;
  };
  let behind = 0;
  for (const st of Object.values(s.streams ?? {})) {
    behind += st.recordsBehind ?? 0;
    for (const c of Object.values(st.consumers ?? {})) if (c.exact === false) behind += 1;
  }
  let busy = 0;
  for (const name of ['events', 'scheduler']) busy += (s.services?.[name]?.status?.pending ?? 0) + (s.services?.[name]?.status?.inFlight ?? 0);
  return { behind, busy, normalized: s.functions?.normalize?.records ?? 0, resolved: s.functions?.resolve?.records ?? 0 };
}

/**
 * Waits until the raw stream consumer has seen `expected` more records than at `base`, nothing is
 * behind on any stream, and the bus and scheduler are idle, three polls in a row with no progress.
 */
export async function waitDrained(
  t: Target,
  base: StatusFigures | undefined,
  expected: number,
  timeoutMs: number,
  tick: (f: StatusFigures) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let last: StatusFigures | undefined;
  while (Date.now() < deadline && !signal?.aborted) {
    const f = await figures(t);
    if (!f) return false;
    tick(f);
    const seenAll = f.normalized - (base?.normalized ?? 0) >= expected;
    const still = last && last.resolved === f.resolved && last.normalized === f.normalized;
    quiet = seenAll && f.behind === 0 && f.busy === 0 && still ? quiet + 1 : 0;
    if (quiet >= 3) return true;
    last = f;
    await sleep(500, signal);
  }
  return false;
}

export async function countMembers(t: Target, segment: string): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const a = await adminGet(t, `/v1/segments/${encodeURIComponent(segment)}/members?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (a.status !== 200) throw answerError(a, `members of ${segment}`);
    const body = a.json as { members?: unknown[]; next?: string | null };
    n += body.members?.length ?? 0;
    if (!body.next) break;
    cursor = body.next;
  }
  return n;
}

/** Looks a person up by each of their identifiers; `sameProfile` when all answer the same profile. */
export async function lookUp(t: Target, p: Persona): Promise<{ identifier: string; profileId?: string; sameProfile?: boolean; lookups: string[] }> {
  const ids = [
    p.userId && `user_id:${p.userId}`,
    `email:${p.email}`,
    p.crmId && `crm_id:${p.crmId}`,
    p.facts.sources.has('crm') || p.userId ? `phone:${p.phone}` : undefined,
  ].filter(Boolean) as string[];
  const found: string[] = [];
  const lookups: string[] = [];
  for (const id of ids) {
    const a = await adminGet(t, `/v1/profiles/${pathParam(id)}`);
    if (a.status !== 200) continue;
    lookups.push(id);
    found.push((a.json as { profileId: string }).profileId);
  }
  const identifier = `email:${p.email}`;
  return { identifier, profileId: found[0], sameProfile: found.length > 1 ? found.every((f) => f === found[0]) : undefined, lookups };
}
