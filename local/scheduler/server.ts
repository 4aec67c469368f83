/**
 * Local Amazon EventBridge Scheduler: an HTTP server on 127.0.0.1 speaking the Scheduler REST-JSON
 * protocol (`POST/GET/PUT/DELETE /schedules/{Name}`, `GET /schedules`, `/schedule-groups/...`),
 * so the AWS SDK v3 `SchedulerClient` (with `endpoint` set) works unchanged.
 *
 * Schedules persist in a journal under `<dataDir>/scheduler/`; on start, every schedule that came
 * due while the stack was down fires (restarts lose no waits). Firing hands the target's payload to
 * the same durable delivery queue the local bus uses (retries, dead-letter file), which calls the
 * injected `invoke(functionName, payload)`. The clock is injectable (`now`, `tickMs`, `tick()`)
 * so a three-day wait can be tested instantly. See docs/eventbridge.md.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { log } from '#shared/log';
import { DeliveryQueue, type DeliveryStats, type Invoke } from '../eventbridge/delivery';
import { AwsError, closeServer, listen, paginate, readBody, sendJson } from '../aws-http';
import { lambdaFunctionName, LOCAL_ACCOUNT } from '../eventbridge/state';
import { Journal, readJsonLines } from '../eventbridge/store';
import { parseScheduleExpression } from './expression';

export interface SchedulerServerOptions {
  /** Root data directory; state lives in `<dataDir>/scheduler/`. */
  dataDir: string;
  invoke: Invoke;
  region?: string;
  port?: number;
  /** Clock in epoch milliseconds (default Date.now). */
  now?: () => number;
  /** How often due schedules are checked (default 1000 ms; 0 = only when `tick()` is called). */
  tickMs?: number;
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };
}

export interface SchedulerStats extends DeliveryStats {
  schedules: number;
  fired: number;
}

export interface LocalScheduler {
  endpoint: string;
  /** Fires every schedule due at `now()`; resolves with how many fired (their deliveries are durable). */
  tick(): Promise<number>;
  drain(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
  stats(): SchedulerStats;
}

interface TargetDef {
  Arn: string;
  RoleArn: string;
  Input?: string;
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
  [k: string]: unknown;
}
interface Schedule {
  Name: string;
  GroupName: string;
  Arn: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  StartDate?: number;
  EndDate?: number;
  Description?: string;
  State: 'ENABLED' | 'DISABLED';
  KmsKeyArn?: string;
  Target: TargetDef;
  FlexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  ActionAfterCompletion?: 'NONE' | 'DELETE';
  CreationDate: number;
  LastModificationDate: number;
  /** Next invocation time (ms); null once a one-time schedule has fired or a recurring one ended. */
  nextFireAt: number | null;
}
interface Group {
  Name: string;
  Arn: string;
  CreationDate: number;
  LastModificationDate: number;
}
type Rec = { op: 'schedule'; s: Schedule } | { op: 'unschedule'; group: string; name: string } | { op: 'group'; g: Group } | { op: 'ungroup'; name: string };

const NAME_RE = /^[0-9a-zA-Z\-_.]{1,64}$/;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const sec = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

export async function startScheduler(opts: SchedulerServerOptions): Promise<LocalScheduler> {
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const now = opts.now ?? Date.now;
  const dir = join(opts.dataDir, 'scheduler');
  const scheduleArn = (g: string, n: string) => `arn:aws:scheduler:${region}:${LOCAL_ACCOUNT}:schedule/${g}/${n}`;
  const groupArn = (g: string) => `arn:aws:scheduler:${region}:${LOCAL_ACCOUNT}:schedule-group/${g}`;

  // ---- state: replay the journal ------------------------------------------------------------------
  const groups = new Map<string, Group>();
  const schedules = new Map<string, Map<string, Schedule>>();
  const journalFile = join(dir, 'schedules.jsonl');
  for (const r of readJsonLines<Rec>(journalFile)) {
    if (r.op === 'group') {
      groups.set(r.g.Name, r.g);
      if (!schedules.has(r.g.Name)) schedules.set(r.g.Name, new Map());
    } else if (r.op === 'ungroup') {
      groups.delete(r.name);
      schedules.delete(r.name);
    } else if (r.op === 'schedule') {
      if (!schedules.has(r.s.GroupName)) schedules.set(r.s.GroupName, new Map());
      schedules.get(r.s.GroupName)!.set(r.s.Name, r.s);
    } else if (r.op === 'unschedule') schedules.get(r.group)?.delete(r.name);
  }
  if (!groups.has('default')) {
    const t = now();
    groups.set('default', { Name: 'default', Arn: groupArn('default'), CreationDate: t, LastModificationDate: t });
  }
  if (!schedules.has('default')) schedules.set('default', new Map());
  const journal = new Journal(journalFile);
  const snapshot = (): Rec[] => [
    ...[...groups.values()].map((g): Rec => ({ op: 'group', g })),
    ...[...schedules.values()].flatMap((m) => [...m.values()].map((s): Rec => ({ op: 'schedule', s }))),
  ];
  await journal.rewrite(snapshot);
  let writesSinceCompaction = 0;
  const persist = async (recs: Rec[]) => {
    await journal.append(recs);
    writesSinceCompaction += recs.length;
    let live = groups.size;
    for (const m of schedules.values()) live += m.size;
    if (writesSinceCompaction > 1_000 + 2 * live) {
      writesSinceCompaction = 0;
      await journal.rewrite(snapshot);
    }
  };

  const queue = await DeliveryQueue.open({
    journalFile: join(dir, 'queue.jsonl'),
    deadLetterFile: join(dir, 'dead-letter.jsonl'),
    invoke: opts.invoke,
    maxAttempts: opts.retry?.maxAttempts ?? 5,
    baseDelayMs: opts.retry?.baseDelayMs ?? 200,
    maxDelayMs: opts.retry?.maxDelayMs ?? 30_000,
    now,
  });
  let fired = 0;

  // ---- validation ---------------------------------------------------------------------------------
  const groupOf = (v: unknown): string => str(v) || 'default';
  const requireGroup = (name: string): Group => {
    const g = groups.get(name);
    if (!g) throw new AwsError('ResourceNotFoundException', `Schedule group ${name} does not exist.`, 404);
    return g;
  };
  const requireSchedule = (group: string, name: string): Schedule => {
    requireGroup(group);
    const s = schedules.get(group)?.get(name);
    if (!s) throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    return s;
  };
  const firstFire = (s: Omit<Schedule, 'nextFireAt'>, from: number): number | null => {
    const p = parseScheduleExpression(s.ScheduleExpression, s.ScheduleExpressionTimezone ?? 'UTC');
    if (p.kind === 'at') return p.at; // StartDate/EndDate are ignored for one-time schedules
    const start = s.StartDate ?? from + p.everyMs;
    const t = start < from ? start + Math.ceil((from - start) / p.everyMs) * p.everyMs : start;
    return s.EndDate !== undefined && t > s.EndDate ? null : t;
  };
  const buildSchedule = (name: string, b: Record<string, unknown>, prev?: Schedule): Schedule => {
    if (!NAME_RE.test(name)) throw new AwsError('ValidationException', `Schedule name ${name} is not valid: 1-64 characters of [0-9a-zA-Z-_.]`);
    const group = groupOf(b.GroupName);
    requireGroup(group);
    const expr = str(b.ScheduleExpression);
    if (!expr) throw new AwsError('ValidationException', 'ScheduleExpression is required.');
    const ftw = b.FlexibleTimeWindow as Schedule['FlexibleTimeWindow'] | undefined;
    if (!ftw || (ftw.Mode !== 'OFF' && ftw.Mode !== 'FLEXIBLE')) throw new AwsError('ValidationException', 'FlexibleTimeWindow.Mode must be OFF or FLEXIBLE.');
    if (ftw.Mode === 'FLEXIBLE' && !(Number.isInteger(ftw.MaximumWindowInMinutes) && ftw.MaximumWindowInMinutes! >= 1 && ftw.MaximumWindowInMinutes! <= 1440)) {
      throw new AwsError('ValidationException', 'FlexibleTimeWindow.MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.');
    }
    const target = b.Target as TargetDef | undefined;
    if (!target || typeof target.Arn !== 'string') throw new AwsError('ValidationException', 'Target.Arn is required.');
    if (typeof target.RoleArn !== 'string') throw new AwsError('ValidationException', 'Target.RoleArn is required.');
    if (!lambdaFunctionName(target.Arn)) {
      throw new AwsError(
        'ValidationException',
        `The local scheduler invokes only Lambda function targets (arn:aws:lambda:<region>:<account>:function:<name>); got ${target.Arn}`,
      );
    }
    if (target.Input !== undefined && (typeof target.Input !== 'string' || target.Input.length > 8192)) {
      throw new AwsError('ValidationException', 'Target.Input must be a string of at most 8192 characters.');
    }
    const rp = target.RetryPolicy;
    if (
      rp?.MaximumRetryAttempts !== undefined &&
      !(Number.isInteger(rp.MaximumRetryAttempts) && rp.MaximumRetryAttempts >= 0 && rp.MaximumRetryAttempts <= 185)
    ) {
      throw new AwsError('ValidationException', 'RetryPolicy.MaximumRetryAttempts must be between 0 and 185.');
    }
    if (
      rp?.MaximumEventAgeInSeconds !== undefined &&
      !(Number.isInteger(rp.MaximumEventAgeInSeconds) && rp.MaximumEventAgeInSeconds >= 60 && rp.MaximumEventAgeInSeconds <= 86400)
    ) {
      throw new AwsError('ValidationException', 'RetryPolicy.MaximumEventAgeInSeconds must be between 60 and 86400.');
    }
    const state = str(b.State) ?? 'ENABLED';
    if (state !== 'ENABLED' && state !== 'DISABLED') throw new AwsError('ValidationException', 'State must be ENABLED or DISABLED.');
    const aac = str(b.ActionAfterCompletion);
    if (aac !== undefined && aac !== 'NONE' && aac !== 'DELETE') throw new AwsError('ValidationException', 'ActionAfterCompletion must be NONE or DELETE.');
    const date = (v: unknown, field: string): number | undefined => {
      if (v === undefined || v === null) return undefined;
      const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : NaN;
      if (!Number.isFinite(ms)) throw new AwsError('ValidationException', `${field} is not a valid timestamp.`);
      return ms;
    };
    const t = now();
    const base = {
      Name: name,
      GroupName: group,
      Arn: scheduleArn(group, name),
      ScheduleExpression: expr,
      ScheduleExpressionTimezone: str(b.ScheduleExpressionTimezone),
      StartDate: date(b.StartDate, 'StartDate'),
      EndDate: date(b.EndDate, 'EndDate'),
      Description: str(b.Description),
      State: state,
      KmsKeyArn: str(b.KmsKeyArn),
      Target: target,
      FlexibleTimeWindow: ftw,
      ActionAfterCompletion: aac as Schedule['ActionAfterCompletion'],
      CreationDate: prev?.CreationDate ?? t,
      LastModificationDate: t,
    } satisfies Omit<Schedule, 'nextFireAt'>;
    let next: number | null;
    try {
      next = firstFire(base, t);
    } catch (e) {
      throw new AwsError('ValidationException', (e as Error).message);
    }
    if (base.StartDate !== undefined && base.EndDate !== undefined && base.EndDate <= base.StartDate) {
      throw new AwsError('ValidationException', 'The EndDate must be after the StartDate.');
    }
    return { ...base, nextFireAt: next };
  };
  const view = (s: Schedule) => ({
    Arn: s.Arn,
    GroupName: s.GroupName,
    Name: s.Name,
    ScheduleExpression: s.ScheduleExpression,
    StartDate: sec(s.StartDate),
    EndDate: sec(s.EndDate),
    Description: s.Description,
    ScheduleExpressionTimezone: s.ScheduleExpressionTimezone,
    State: s.State,
    CreationDate: sec(s.CreationDate),
    LastModificationDate: sec(s.LastModificationDate),
    KmsKeyArn: s.KmsKeyArn,
    Target: s.Target,
    FlexibleTimeWindow: s.FlexibleTimeWindow,
    ActionAfterCompletion: s.ActionAfterCompletion,
  });

  // ---- firing -------------------------------------------------------------------------------------
  const payloadFor = (s: Schedule, scheduledAt: number, executionId: string): unknown => {
    if (s.Target.Input === undefined) return {};
    const text = s.Target.Input.replace(/<aws\.scheduler\.(schedule-arn|scheduled-time|execution-id|attempt-number)>/g, (_, k: string) =>
      k === 'schedule-arn'
        ? s.Arn
        : k === 'scheduled-time'
          ? new Date(scheduledAt).toISOString().replace(/\.\d{3}Z$/, 'Z')
          : k === 'execution-id'
            ? executionId
            : '1',
    );
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  };
  let ticking: Promise<number> | null = null;
  const runTick = async (): Promise<number> => {
    const t = now();
    const due: Schedule[] = [];
    for (const m of schedules.values()) for (const s of m.values()) if (s.State === 'ENABLED' && s.nextFireAt !== null && s.nextFireAt <= t) due.push(s);
    if (!due.length) return 0;
    due.sort((a, b) => a.nextFireAt! - b.nextFireAt!);
    // Deliveries first (durable), then the schedule's new state: a crash in between fires again (at least once).
    await queue.enqueue(
      due.map((s) => {
        const executionId = randomUUID();
        const retries = s.Target.RetryPolicy?.MaximumRetryAttempts;
        return {
          id: `${s.Arn}@${s.nextFireAt}`,
          functionName: lambdaFunctionName(s.Target.Arn)!,
          payload: payloadFor(s, s.nextFireAt!, executionId),
          attempts: 0,
          enqueuedAt: t,
          ...(retries !== undefined ? { maxAttempts: Math.min(retries + 1, opts.retry?.maxAttempts ?? 5) } : {}),
          maxAgeSeconds: s.Target.RetryPolicy?.MaximumEventAgeInSeconds ?? 86_400,
          origin: { schedule: s.Arn, executionId },
        };
      }),
    );
    const recs: Rec[] = [];
    for (const s of due) {
      fired++;
      const p = parseScheduleExpression(s.ScheduleExpression, s.ScheduleExpressionTimezone ?? 'UTC');
      let next: number | null = null;
      if (p.kind === 'rate') {
        next = s.nextFireAt! + Math.max(1, Math.ceil((t - s.nextFireAt! + 1) / p.everyMs)) * p.everyMs;
        if (s.EndDate !== undefined && next > s.EndDate) next = null;
      }
      if (next === null && s.ActionAfterCompletion === 'DELETE') {
        schedules.get(s.GroupName)?.delete(s.Name);
        recs.push({ op: 'unschedule', group: s.GroupName, name: s.Name });
      } else {
        s.nextFireAt = next;
        recs.push({ op: 'schedule', s });
      }
      log('debug', 'scheduler.fired', { schedule: s.Arn, next });
    }
    await persist(recs);
    return due.length;
  };
  const tick = (): Promise<number> => {
    // One tick at a time; a tick requested while one runs runs after it.
    const run: Promise<number> = (ticking ?? Promise.resolve(0)).catch(() => 0).then(runTick);
    ticking = run;
    return run;
  };

  // ---- HTTP ---------------------------------------------------------------------------------------
  const routes: { method: string; re: RegExp; fn: (m: RegExpExecArray, q: URLSearchParams, b: Record<string, unknown>) => Promise<unknown> | unknown }[] = [
    {
      method: 'POST',
      re: /^\/schedules\/([^/]+)$/,
      fn: async (m, _q, b) => {
        const name = decodeURIComponent(m[1]!);
        const group = groupOf(b.GroupName);
        requireGroup(group);
        if (schedules.get(group)!.has(name)) throw new AwsError('ConflictException', `Schedule ${name} already exists.`, 409);
        const s = buildSchedule(name, b);
        schedules.get(group)!.set(name, s);
        await persist([{ op: 'schedule', s }]);
        return { ScheduleArn: s.Arn };
      },
    },
    {
      method: 'PUT',
      re: /^\/schedules\/([^/]+)$/,
      fn: async (m, _q, b) => {
        const name = decodeURIComponent(m[1]!);
        const prev = requireSchedule(groupOf(b.GroupName), name);
        const s = buildSchedule(name, b, prev);
        schedules.get(s.GroupName)!.set(name, s);
        await persist([{ op: 'schedule', s }]);
        return { ScheduleArn: s.Arn };
      },
    },
    { method: 'GET', re: /^\/schedules\/([^/]+)$/, fn: (m, q) => view(requireSchedule(groupOf(q.get('groupName')), decodeURIComponent(m[1]!))) },
    {
      method: 'DELETE',
      re: /^\/schedules\/([^/]+)$/,
      fn: async (m, q) => {
        const s = requireSchedule(groupOf(q.get('groupName')), decodeURIComponent(m[1]!));
        schedules.get(s.GroupName)!.delete(s.Name);
        await persist([{ op: 'unschedule', group: s.GroupName, name: s.Name }]);
        return {};
      },
    },
    {
      method: 'GET',
      re: /^\/schedules\/?$/,
      fn: (_m, q) => {
        const group = q.get('ScheduleGroup');
        const prefix = q.get('NamePrefix') ?? '';
        const state = q.get('State');
        if (group) requireGroup(group);
        const all = [...schedules.entries()]
          .filter(([g]) => !group || g === group)
          .flatMap(([, m]) => [...m.values()])
          .filter((s) => s.Name.startsWith(prefix) && (!state || s.State === state));
        const max = q.get('MaxResults');
        const { page, nextToken } = paginate(all, (s) => `${s.GroupName}/${s.Name}`, max ? Number(max) : undefined, q.get('NextToken') ?? undefined);
        return {
          Schedules: page.map((s) => ({
            Arn: s.Arn,
            Name: s.Name,
            GroupName: s.GroupName,
            State: s.State,
            CreationDate: sec(s.CreationDate),
            LastModificationDate: sec(s.LastModificationDate),
            Target: { Arn: s.Target.Arn },
          })),
          ...(nextToken ? { NextToken: nextToken } : {}),
        };
      },
    },
    {
      method: 'POST',
      re: /^\/schedule-groups\/([^/]+)$/,
      fn: async (m) => {
        const name = decodeURIComponent(m[1]!);
        if (!NAME_RE.test(name)) throw new AwsError('ValidationException', `Schedule group name ${name} is not valid.`);
        if (groups.has(name)) throw new AwsError('ConflictException', `Schedule group ${name} already exists.`, 409);
        const t = now();
        const g: Group = { Name: name, Arn: groupArn(name), CreationDate: t, LastModificationDate: t };
        groups.set(name, g);
        schedules.set(name, new Map());
        await persist([{ op: 'group', g }]);
        return { ScheduleGroupArn: g.Arn };
      },
    },
    {
      method: 'GET',
      re: /^\/schedule-groups\/([^/]+)$/,
      fn: (m) => {
        const g = requireGroup(decodeURIComponent(m[1]!));
        return { Arn: g.Arn, Name: g.Name, State: 'ACTIVE', CreationDate: sec(g.CreationDate), LastModificationDate: sec(g.LastModificationDate) };
      },
    },
    {
      method: 'DELETE',
      re: /^\/schedule-groups\/([^/]+)$/,
      fn: async (m) => {
        const name = decodeURIComponent(m[1]!);
        if (name === 'default') throw new AwsError('ValidationException', 'The default schedule group cannot be deleted.');
        requireGroup(name);
        groups.delete(name);
        schedules.delete(name);
        await persist([{ op: 'ungroup', name }]);
        return {};
      },
    },
    {
      method: 'GET',
      re: /^\/schedule-groups\/?$/,
      fn: (_m, q) => {
        const prefix = q.get('NamePrefix') ?? '';
        const max = q.get('MaxResults');
        const { page, nextToken } = paginate(
          [...groups.values()].filter((g) => g.Name.startsWith(prefix)),
          (g) => g.Name,
          max ? Number(max) : undefined,
          q.get('NextToken') ?? undefined,
        );
        return {
          ScheduleGroups: page.map((g) => ({
            Arn: g.Arn,
            Name: g.Name,
            State: 'ACTIVE',
            CreationDate: sec(g.CreationDate),
            LastModificationDate: sec(g.LastModificationDate),
          })),
          ...(nextToken ? { NextToken: nextToken } : {}),
        };
      },
    },
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/health') return sendJson(res, 200, { status: 'ok' });
      for (const r of routes) {
        if (r.method !== req.method) continue;
        const m = r.re.exec(url.pathname);
        if (!m) continue;
        const raw = await readBody(req, 1024 * 1024);
        let body: Record<string, unknown> = {};
        if (raw.length) {
          try {
            body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
          } catch {
            throw new AwsError('ValidationException', 'Request body is not valid JSON');
          }
        }
        return sendJson(res, 200, await r.fn(m, url.searchParams, body ?? {}));
      }
      throw new AwsError('UnknownOperationException', `${req.method} ${url.pathname} is not supported by the local scheduler`, 404);
    } catch (e) {
      if (e instanceof AwsError) {
        sendJson(res, e.status, { Message: e.message, message: e.message }, { 'x-amzn-errortype': e.type });
      } else {
        log('error', 'scheduler.internal_error', { error: (e as Error)?.message });
        sendJson(res, 500, { Message: 'Internal error in the local scheduler' }, { 'x-amzn-errortype': 'InternalServerException' });
      }
    }
  };
  const server = createServer((req, res) => void handle(req, res));
  const port = await listen(server, opts.port ?? 0);
  const endpoint = `http://127.0.0.1:${port}`;

  // Fire what came due while the stack was down, then keep ticking.
  await tick();
  const tickMs = opts.tickMs ?? 1_000;
  const timer =
    tickMs > 0
      ? setInterval(() => {
          tick().catch((e: unknown) => log('error', 'scheduler.tick_failed', { error: (e as Error)?.message }));
        }, tickMs)
      : undefined;
  timer?.unref();
  log('info', 'scheduler.started', { endpoint, schedules: [...schedules.values()].reduce((n, m) => n + m.size, 0) });

  let closed = false;
  return {
    endpoint,
    tick,
    drain: (timeoutMs) => queue.drain(timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      await closeServer(server);
      await ticking?.catch(() => 0);
      await journal.flush();
      await queue.close();
    },
    stats: () => ({ ...queue.stats(), schedules: [...schedules.values()].reduce((n, m) => n + m.size, 0), fired }),
  };
}
