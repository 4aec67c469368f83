/**
 * The local bus's state: event buses, their rules and each rule's targets, as the EventBridge API
 * (api.ts) changes them and delivery (routing.ts) reads them; persisted in
 * `<dataDir>/eventbridge/state.json`. Also the account and ARNs the local bus answers with.
 */
import { join } from 'node:path';
import type { InputTransformer } from '#shared/eventbridge';
import { readJson, writeJsonAtomicSync } from './store';

export const LOCAL_ACCOUNT = '000000000000';

export interface TargetState {
  Id: string;
  Arn: string;
  RoleArn?: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: InputTransformer;
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
}
export interface RuleState {
  Name: string;
  EventBusName: string;
  Arn: string;
  EventPattern?: string;
  ScheduleExpression?: string;
  State: string;
  Description?: string;
  RoleArn?: string;
  CreatedAt: number;
  Targets: TargetState[];
}
export interface BusState {
  Name: string;
  Arn: string;
  Description?: string;
  CreationTime: number;
  LastModifiedTime: number;
}
export interface State {
  version: 1;
  buses: Record<string, BusState>;
  rules: Record<string, Record<string, RuleState>>;
}

const LAMBDA_ARN_RE = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]{1,140})(?::[A-Za-z0-9$_-]+)?$/;

/** The Lambda function name of a target ARN, or undefined for any other kind of target. */
export function lambdaFunctionName(arn: string): string | undefined {
  return LAMBDA_ARN_RE.exec(arn)?.[1];
}

export interface BusStore {
  state: State;
  region: string;
  /** Writes the state (atomically). */
  save(): void;
  busArn(name: string): string;
  ruleArn(bus: string, name: string): string;
}

/** Loads the state under `dataDir`, creating `default` and the always-present `buses`. */
export function openBusStore(dataDir: string, region: string, buses: string[]): BusStore {
  const dir = join(dataDir, 'eventbridge');
  const stateFile = join(dir, 'state.json');
  const busArn = (name: string) => `arn:aws:events:${region}:${LOCAL_ACCOUNT}:event-bus/${name}`;
  const ruleArn = (bus: string, name: string) =>
    bus === 'default' ? `arn:aws:events:${region}:${LOCAL_ACCOUNT}:rule/${name}` : `arn:aws:events:${region}:${LOCAL_ACCOUNT}:rule/${bus}/${name}`;

  const state = readJson<State>(stateFile, { version: 1, buses: {}, rules: {} });
  const now = Date.now();
  for (const name of ['default', ...buses]) {
    state.buses[name] ??= { Name: name, Arn: busArn(name), CreationTime: now, LastModifiedTime: now };
    state.rules[name] ??= {};
  }
  const save = () => writeJsonAtomicSync(stateFile, state);
  save();
  return { state, region, save, busArn, ruleArn };
}
