/**
 * Deployment settings: stack props, with defaults read from CDK context (`cdk.json` or
 * `npx cdk deploy -c cairn:retain=false`). Context values from the command line arrive as
 * strings, values from cdk.json as JSON; both are accepted.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export type FailureDestinationKind = 's3' | 'sqs';

export interface CairnSettingsProps {
  /** Name suffix so two Cairn stacks (e.g. `dev`, `prod`) can live in one account/region. */
  stage?: string;
  /** Keep data (tables, streams, lake, key) when the stack is deleted. Default true. */
  retain?: boolean;
  /** DynamoDB deletion protection. Default: same as `retain`. */
  deletionProtection?: boolean;
  /** CloudWatch Logs retention in days for function and access logs. Default 30. */
  logRetentionDays?: number;
  /** Origins allowed to call the collector from a browser (analytics.js). Default `*`. */
  allowedOrigins?: string[];
  /** Where the normalize event-source mapping sends batches it gave up on. Default `s3`. */
  failureDestination?: FailureDestinationKind;
  /** Athena per-query scan cut-off in GB (cost guard). Default 10. */
  athenaScanCutoffGb?: number;
}

export interface CairnSettings {
  stage: string | undefined;
  retain: boolean;
  deletionProtection: boolean;
  logRetention: RetentionDays;
  allowedOrigins: string[];
  failureDestination: FailureDestinationKind;
  athenaScanCutoffGb: number;
  /** Removal policy for data-holding resources. */
  dataRemovalPolicy: RemovalPolicy;
  /** Physical name for a named resource: `cairn-raw` → `cairn-raw-dev` for stage `dev`. */
  name(base: string): string;
  /** Glue/Athena-style name (letters, digits, underscore): `cairn` → `cairn_dev`. */
  glueName(base: string): string;
}

export const CONTEXT = {
  stage: 'cairn:stage',
  retain: 'cairn:retain',
  deletionProtection: 'cairn:deletionProtection',
  logRetentionDays: 'cairn:logRetentionDays',
  allowedOrigins: 'cairn:allowedOrigins',
  failureDestination: 'cairn:failureDestination',
  athenaScanCutoffGb: 'cairn:athenaScanCutoffGb',
} as const;

const STAGE_RE = /^[a-z][a-z0-9]{0,11}$/;

function bool(v: unknown, key: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(v)}`);
}

function num(v: unknown, key: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`context ${key} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

function list(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) return v.map(String);
  return String(v).split(',').map((s) => s.trim()).filter(Boolean);
}

function retention(days: number): RetentionDays {
  const valid = Object.values(RetentionDays).filter((d): d is RetentionDays => typeof d === 'number');
  if (!valid.includes(days as RetentionDays)) {
    throw new Error(`context ${CONTEXT.logRetentionDays}: ${days} is not a CloudWatch Logs retention (one of ${valid.join(', ')})`);
  }
  return days as RetentionDays;
}

/** Props win over context; context wins over defaults. */
export function resolveSettings(scope: Construct, props: CairnSettingsProps = {}): CairnSettings {
  const ctx = (k: string): unknown => scope.node.tryGetContext(k);
  const stageRaw = props.stage ?? (ctx(CONTEXT.stage) as string | undefined);
  const stage = stageRaw === '' ? undefined : stageRaw;
  if (stage !== undefined && !STAGE_RE.test(stage)) {
    throw new Error(`stage must be 1-12 lower-case letters/digits starting with a letter, got ${JSON.stringify(stage)}`);
  }
  const retain = props.retain ?? bool(ctx(CONTEXT.retain), CONTEXT.retain) ?? true;
  const failure = props.failureDestination ?? (ctx(CONTEXT.failureDestination) as string | undefined) ?? 's3';
  if (failure !== 's3' && failure !== 'sqs') throw new Error(`context ${CONTEXT.failureDestination} must be s3 or sqs, got ${JSON.stringify(failure)}`);
  return {
    stage,
    retain,
    deletionProtection: props.deletionProtection ?? bool(ctx(CONTEXT.deletionProtection), CONTEXT.deletionProtection) ?? retain,
    logRetention: retention(props.logRetentionDays ?? num(ctx(CONTEXT.logRetentionDays), CONTEXT.logRetentionDays) ?? 30),
    allowedOrigins: props.allowedOrigins ?? list(ctx(CONTEXT.allowedOrigins)) ?? ['*'],
    failureDestination: failure,
    athenaScanCutoffGb: props.athenaScanCutoffGb ?? num(ctx(CONTEXT.athenaScanCutoffGb), CONTEXT.athenaScanCutoffGb) ?? 10,
    dataRemovalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    name: (base) => (stage ? `${base}-${stage}` : base),
    glueName: (base) => (stage ? `${base}_${stage}` : base).replace(/-/g, '_'),
  };
}
