/**
 * The local bus's API: EventBridge's operations (PutEvents, rules, targets, buses,
 * TestEventPattern) with AWS's validation and error shapes, and the JSON 1.1 protocol they are
 * called with (`X-Amz-Target: AWSEvents.<Operation>`). PutEvents hands accepted events to routing.ts
 * and answers only once their deliveries are journaled.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { CairnError } from '#shared/errors';
import { compilePattern, parsePattern } from '#shared/eventbridge';
import { validateTargetInput, type InputTransformer } from '#shared/eventbridge';
import type { DeliveryItem } from './delivery';
import { awsJsonHandler } from '../aws-json';
import { AwsError, paginate } from '../aws-http';
import type { Router } from './routing';
import { lambdaFunctionName, LOCAL_ACCOUNT, type BusState, type BusStore, type RuleState, type TargetState } from './state';

/** PutEvents limits (EventBridge quotas). */
export const MAX_ENTRIES_PER_PUT = 10;
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;
export const MAX_TARGETS_PER_RULE = 5;

const NAME_RE = /^[.\-_A-Za-z0-9]{1,64}$/;
const BUS_NAME_RE = /^[/.\-_A-Za-z0-9]{1,256}$/;
const RULE_STATES = new Set(['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const epochSeconds = (ms: number) => ms / 1000;

export interface ApiCounters {
  putEventsRequests: number;
  eventsAccepted: number;
  entriesFailed: number;
  matched: number;
}

export type Operations = Record<string, (b: Record<string, unknown>) => Promise<unknown> | unknown>;

/** The operations on the bus's state; PutEvents routes accepted events through `router`. */
export function operations(store: BusStore, router: Router, counters: ApiCounters): Operations {
  const { state, save, busArn, ruleArn, region } = store;
  // ---- helpers --------------------------------------------------------------------------------
  const busName = (v: unknown): string => {
    const s = str(v) ?? 'default';
    const m = /^arn:aws[a-z-]*:events:[^:]*:[^:]*:event-bus\/(.+)$/.exec(s);
    return m ? m[1]! : s;
  };
  const requireBus = (name: string): BusState => {
    const b = state.buses[name];
    if (!b) throw new AwsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return b;
  };
  const requireRule = (bus: string, name: unknown): RuleState => {
    requireBus(bus);
    const n = str(name);
    if (!n)
      throw new AwsError('ValidationException', "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
    const r = state.rules[bus]?.[n];
    if (!r) throw new AwsError('ResourceNotFoundException', `Rule ${n} does not exist on EventBus ${bus}.`);
    return r;
  };
  const patternOrThrow = (text: unknown): void => {
    if (typeof text !== 'string') throw new AwsError('ValidationException', 'EventPattern must be a string');
    try {
      parsePattern(text);
    } catch (e) {
      const reason = e instanceof CairnError ? e.message.replace(/^Event pattern is not valid:\s*/, '') : String(e);
      throw new AwsError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`);
    }
  };
  const ruleView = (r: RuleState) => ({
    Name: r.Name,
    Arn: r.Arn,
    EventPattern: r.EventPattern,
    ScheduleExpression: r.ScheduleExpression,
    State: r.State,
    Description: r.Description,
    RoleArn: r.RoleArn,
    EventBusName: r.EventBusName,
  });
  const entrySize = (e: Record<string, unknown>): number => {
    let n = e.Time !== undefined ? 14 : 0;
    for (const k of ['Source', 'DetailType', 'Detail']) if (typeof e[k] === 'string') n += Buffer.byteLength(e[k] as string);
    if (Array.isArray(e.Resources)) for (const r of e.Resources) if (typeof r === 'string') n += Buffer.byteLength(r);
    return n;
  };

  // ---- operations ------------------------------------------------------------------------------
  return {
    async PutEvents(b) {
      counters.putEventsRequests++;
      const entries = b.Entries;
      if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES_PER_PUT) {
        throw new AwsError(
          'ValidationException',
          `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES_PER_PUT}`,
        );
      }
      const total = entries.reduce((n: number, e) => n + entrySize((e ?? {}) as Record<string, unknown>), 0);
      if (total > MAX_PUT_EVENTS_BYTES) throw new AwsError('ValidationException', 'Total size of the entries in the request is over the limit.');
      const results: Record<string, unknown>[] = [];
      const deliveries: DeliveryItem[] = [];
      for (const raw of entries as Record<string, unknown>[]) {
        const e = raw ?? {};
        const failed = (ErrorCode: string, ErrorMessage: string) => {
          counters.entriesFailed++;
          results.push({ ErrorCode, ErrorMessage });
        };
        const bus = busName(e.EventBusName);
        if (!state.buses[bus]) {
          failed('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
          continue;
        }
        const source = str(e.Source);
        const detailType = str(e.DetailType);
        if (!source) {
          failed('InvalidArgument', 'Parameter Source is not valid. Reason: Source is a required argument.');
          continue;
        }
        if (!detailType) {
          failed('InvalidArgument', 'Parameter DetailType is not valid. Reason: DetailType is a required argument.');
          continue;
        }
        if (typeof e.Detail !== 'string') {
          failed('InvalidArgument', 'Parameter Detail is not valid. Reason: Detail is a required argument.');
          continue;
        }
        if (source.startsWith('aws.')) {
          failed('NotAuthorizedForSourceException', `Not authorized for the source ${source}.`);
          continue;
        }
        let detail: unknown;
        try {
          detail = JSON.parse(e.Detail);
        } catch {
          detail = undefined;
        }
        if (!detail || typeof detail !== 'object' || Array.isArray(detail)) {
          failed('MalformedDetail', 'Detail is malformed.');
          continue;
        }
        const ingestedAt = Date.now();
        const time = typeof e.Time === 'number' ? e.Time * 1000 : typeof e.Time === 'string' ? Date.parse(e.Time) : ingestedAt;
        const ingestionTime = new Date(ingestedAt).toISOString();
        const event = {
          version: '0',
          id: randomUUID(),
          'detail-type': detailType,
          source,
          account: LOCAL_ACCOUNT,
          time: isoSeconds(Number.isFinite(time) ? time : ingestedAt),
          region,
          resources: Array.isArray(e.Resources) ? e.Resources.filter((r) => typeof r === 'string') : [],
          detail,
        };
        deliveries.push(...router.route(event, bus, ingestionTime, () => counters.matched++));
        counters.eventsAccepted++;
        results.push({ EventId: event.id });
      }
      // Write-ahead: the deliveries are durable before the caller hears "accepted".
      await router.queue.enqueue(deliveries);
      return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
    },

    PutRule(b) {
      const name = str(b.Name);
      if (!name || !NAME_RE.test(name))
        throw new AwsError('ValidationException', `Rule name ${JSON.stringify(b.Name ?? null)} is not valid: 1-64 characters of [.-_A-Za-z0-9]`);
      const bus = busName(b.EventBusName);
      requireBus(bus);
      if (b.EventPattern === undefined && b.ScheduleExpression === undefined) {
        throw new AwsError('ValidationException', 'Parameter(s) EventPattern or ScheduleExpression must be specified.');
      }
      if (b.EventPattern !== undefined) patternOrThrow(b.EventPattern);
      if (b.ScheduleExpression !== undefined && !/^(rate|cron)\(.+\)$/.test(String(b.ScheduleExpression))) {
        throw new AwsError('ValidationException', 'Parameter ScheduleExpression is not valid.');
      }
      const st = str(b.State) ?? 'ENABLED';
      if (!RULE_STATES.has(st)) throw new AwsError('ValidationException', `State ${st} is not valid`);
      const prev = state.rules[bus]![name];
      const rule: RuleState = {
        Name: name,
        EventBusName: bus,
        Arn: ruleArn(bus, name),
        EventPattern: str(b.EventPattern),
        ScheduleExpression: str(b.ScheduleExpression),
        State: st,
        Description: str(b.Description),
        RoleArn: str(b.RoleArn),
        CreatedAt: prev?.CreatedAt ?? Date.now(),
        Targets: prev?.Targets ?? [],
      };
      state.rules[bus]![name] = rule;
      router.forget(rule.Arn);
      save();
      return { RuleArn: rule.Arn };
    },

    DeleteRule(b) {
      const bus = busName(b.EventBusName);
      requireBus(bus);
      const name = str(b.Name) ?? '';
      const r = state.rules[bus]![name];
      if (!r) return {}; // idempotent, like AWS
      if (r.Targets.length) throw new AwsError('ValidationException', "Rule can't be deleted since it has targets.");
      delete state.rules[bus]![name];
      router.forget(r.Arn);
      save();
      return {};
    },

    DescribeRule(b) {
      const r = requireRule(busName(b.EventBusName), b.Name);
      return { ...ruleView(r), CreatedBy: LOCAL_ACCOUNT };
    },

    EnableRule(b) {
      const r = requireRule(busName(b.EventBusName), b.Name);
      r.State = 'ENABLED';
      save();
      return {};
    },

    DisableRule(b) {
      const r = requireRule(busName(b.EventBusName), b.Name);
      r.State = 'DISABLED';
      save();
      return {};
    },

    ListRules(b) {
      const bus = busName(b.EventBusName);
      requireBus(bus);
      const prefix = str(b.NamePrefix) ?? '';
      const rules = Object.values(state.rules[bus]!).filter((r) => r.Name.startsWith(prefix));
      const { page, nextToken } = paginate(rules, (r) => r.Name, b.Limit as number | undefined, str(b.NextToken));
      return { Rules: page.map(ruleView), ...(nextToken ? { NextToken: nextToken } : {}) };
    },

    ListRuleNamesByTarget(b) {
      const bus = busName(b.EventBusName);
      requireBus(bus);
      const arn = str(b.TargetArn);
      const names = Object.values(state.rules[bus]!).filter((r) => r.Targets.some((t) => t.Arn === arn));
      const { page, nextToken } = paginate(names, (r) => r.Name, b.Limit as number | undefined, str(b.NextToken));
      return { RuleNames: page.map((r) => r.Name), ...(nextToken ? { NextToken: nextToken } : {}) };
    },

    PutTargets(b) {
      const r = requireRule(busName(b.EventBusName), b.Rule);
      const targets = b.Targets;
      if (!Array.isArray(targets) || targets.length < 1 || targets.length > 10) {
        throw new AwsError('ValidationException', 'Targets must hold between 1 and 10 entries');
      }
      const failed: Record<string, unknown>[] = [];
      const next = [...r.Targets];
      for (const raw of targets as Record<string, unknown>[]) {
        const id = str(raw?.Id);
        const arn = str(raw?.Arn);
        if (!id || !NAME_RE.test(id))
          throw new AwsError('ValidationException', `Target Id ${JSON.stringify(raw?.Id ?? null)} is not valid: 1-64 characters of [.-_A-Za-z0-9]`);
        if (!arn) throw new AwsError('ValidationException', `Target ${id}: Arn is required`);
        const t: TargetState = { Id: id, Arn: arn };
        for (const k of ['RoleArn', 'Input', 'InputPath'] as const) if (typeof raw[k] === 'string') t[k] = raw[k] as string;
        if (raw.InputTransformer) t.InputTransformer = raw.InputTransformer as InputTransformer;
        if (raw.RetryPolicy) t.RetryPolicy = raw.RetryPolicy as TargetState['RetryPolicy'];
        if (raw.DeadLetterConfig) t.DeadLetterConfig = raw.DeadLetterConfig as TargetState['DeadLetterConfig'];
        try {
          validateTargetInput(t, id);
        } catch (e) {
          // AWS refuses the whole request (not one entry), in its own words: see shared/eventbridge/input.ts.
          throw new AwsError('ValidationException', (e as Error).message);
        }
        if (!lambdaFunctionName(arn)) {
          failed.push({
            TargetId: id,
            ErrorCode: 'ValidationException',
            ErrorMessage: `The local bus delivers only to Lambda function targets (arn:aws:lambda:<region>:<account>:function:<name>); got ${arn}`,
          });
          continue;
        }
        const i = next.findIndex((x) => x.Id === id);
        if (i >= 0) next[i] = t;
        else next.push(t);
      }
      if (next.length > MAX_TARGETS_PER_RULE) {
        throw new AwsError('LimitExceededException', `The requested resource exceeds the maximum number allowed (${MAX_TARGETS_PER_RULE} targets per rule).`);
      }
      r.Targets = next;
      save();
      return { FailedEntryCount: failed.length, FailedEntries: failed };
    },

    RemoveTargets(b) {
      const r = requireRule(busName(b.EventBusName), b.Rule);
      const ids = Array.isArray(b.Ids) ? (b.Ids as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      if (!ids.length) throw new AwsError('ValidationException', 'Ids must hold between 1 and 100 entries');
      r.Targets = r.Targets.filter((t) => !ids.includes(t.Id));
      save();
      return { FailedEntryCount: 0, FailedEntries: [] };
    },

    ListTargetsByRule(b) {
      const r = requireRule(busName(b.EventBusName), b.Rule);
      const { page, nextToken } = paginate(r.Targets, (t) => t.Id, b.Limit as number | undefined, str(b.NextToken));
      return { Targets: page, ...(nextToken ? { NextToken: nextToken } : {}) };
    },

    TestEventPattern(b) {
      patternOrThrow(b.EventPattern);
      let event: unknown;
      try {
        event = JSON.parse(String(b.Event));
      } catch {
        throw new AwsError('ValidationException', 'Parameter Event is not valid.');
      }
      if (!event || typeof event !== 'object' || Array.isArray(event)) throw new AwsError('ValidationException', 'Parameter Event is not valid.');
      const missing = ['id', 'account', 'source', 'time', 'region', 'detail-type'].filter((k) => !(k in (event as object)));
      if (missing.length) throw new AwsError('ValidationException', `Parameter Event is not valid. Reason: missing required field(s) ${missing.join(', ')}.`);
      return { Result: compilePattern(JSON.parse(b.EventPattern as string))(event) };
    },

    CreateEventBus(b) {
      const name = str(b.Name);
      if (!name || !BUS_NAME_RE.test(name)) throw new AwsError('ValidationException', `Event bus name ${JSON.stringify(b.Name ?? null)} is not valid`);
      if (state.buses[name]) throw new AwsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
      const t = Date.now();
      state.buses[name] = { Name: name, Arn: busArn(name), Description: str(b.Description), CreationTime: t, LastModifiedTime: t };
      state.rules[name] = {};
      save();
      return { EventBusArn: busArn(name), ...(b.Description ? { Description: b.Description } : {}) };
    },

    DescribeEventBus(b) {
      const bus = requireBus(busName(b.Name));
      return {
        Name: bus.Name,
        Arn: bus.Arn,
        Description: bus.Description,
        CreationTime: epochSeconds(bus.CreationTime),
        LastModifiedTime: epochSeconds(bus.LastModifiedTime),
      };
    },

    ListEventBuses(b) {
      const prefix = str(b.NamePrefix) ?? '';
      const buses = Object.values(state.buses).filter((x) => x.Name.startsWith(prefix));
      const { page, nextToken } = paginate(buses, (x) => x.Name, b.Limit as number | undefined, str(b.NextToken));
      return {
        EventBuses: page.map((x) => ({
          Name: x.Name,
          Arn: x.Arn,
          Description: x.Description,
          CreationTime: epochSeconds(x.CreationTime),
          LastModifiedTime: epochSeconds(x.LastModifiedTime),
        })),
        ...(nextToken ? { NextToken: nextToken } : {}),
      };
    },

    DeleteEventBus(b) {
      const name = busName(b.Name);
      if (name === 'default') throw new AwsError('ValidationException', 'Cannot delete event bus default.');
      if (state.buses[name]) {
        for (const r of Object.values(state.rules[name] ?? {})) router.forget(r.Arn);
        delete state.buses[name];
        delete state.rules[name];
        save();
      }
      return {};
    },
  };
}

/** Serves the operations over EventBridge's JSON 1.1 protocol (`X-Amz-Target: AWSEvents.<Operation>`). */
export function protocolHandler(ops: Operations): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return awsJsonHandler({
    target: 'AWSEvents',
    name: 'EventBridge',
    logAs: 'eventbridge',
    maxBody: 2 * 1024 * 1024,
    internalError: 'InternalException',
    messageKey: 'message',
    operations: ops,
  });
}
