/**
 * Deployment settings: stack props, with defaults read from CDK context (`cdk.json` or
 * `npx cdk deploy -c cairn:retain=false`). Context values from the command line arrive as
 * strings, values from cdk.json as JSON; both are accepted.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { COMPACTION, compactedEventsMinDays, CONSOLE, dedupWindowSeconds, LAKE, RETENTION, STREAM_RETENTION, STREAMS, TIMELINE } from '#shared/config';

export type FailureDestinationKind = 's3' | 'sqs';
export type DynamoDbCapacity = 'on-demand' | 'provisioned';

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
  /** E-mail address subscribed to the alarm topic (docs/operations.md). Default none. */
  alarmEmail?: string;
  /**
   * Put a CloudFront distribution in front of the API (output `EdgeUrl`), so a WAF can screen
   * collection traffic: HTTP APIs cannot be associated with AWS WAF. Default false. docs/security.md.
   */
  edge?: boolean;
  /**
   * WAF rate-based rule: block a client IP above this many requests per 5 minutes (100 to
   * 2,000,000,000). Implies `edge`. The WebACL (scope CLOUDFRONT) is created in this stack when it
   * deploys to us-east-1; elsewhere pass `webAclArn` instead. Default: none.
   */
  wafRateLimit?: number;
  /** An existing WAFv2 WebACL (scope CLOUDFRONT, us-east-1) to attach to the edge distribution. Implies `edge`. */
  webAclArn?: string;
  /** DynamoDB cost guard: MaxReadRequestUnits of every table's on-demand throughput. Default: no cap. */
  maxTableReadUnits?: number;
  /** DynamoDB cost guard: MaxWriteRequestUnits of every table's on-demand throughput. Default: no cap. */
  maxTableWriteUnits?: number;
  /**
   * Peak events per second the stack must carry without throttling; sizes the Kinesis shards (and so
   * the pipeline's reserved concurrency). Default DEFAULT_EVENTS_PER_SECOND: 1 billion events a month
   * at 5× the mean. docs/deploy.md#sizing.
   */
  eventsPerSecond?: number;
  /**
   * Which events the functions put on the bus: `matched` (default) only those some rule of the bus can
   * match, `all` every event (an archive or schema discovery on the bus sees only what is put). docs/eventbridge.md.
   */
  busPublish?: 'matched' | 'all';
  /**
   * X-Ray active tracing on every function. Default true. Lambda records a trace for the first
   * invocation of each second and 5 % of the rest, per function: ≈ $13 a month for each function
   * invoked once a second or more, whatever the volume (docs/cost.md).
   */
  tracing?: boolean;
  /**
   * Seconds the stream consumers (λ normalize, resolve) wait to fill a batch (1–300). Default 1. Each
   * batch costs an invocation, a lake object and a trace whatever its size: a stack with few events per
   * shard pays less with a longer window, and its events reach the lake and the bus that much later
   * (docs/cost.md).
   */
  batchingWindowSeconds?: number;
  /**
   * Hours both streams keep records (24–168). Default 72 (STREAMS). 24 removes the extended-retention
   * charge (a shard-hour price per shard) and shortens the margin for an outage of a consumer or its
   * failure destination to 1 h; the dedup window follows (docs/deploy.md#sizing).
   */
  streamRetentionHours?: number;
  /**
   * DynamoDB billing: `on-demand` (default) or `provisioned` with target-tracking auto scaling sized
   * from `eventsPerSecond` (TABLE_CAPACITY, docs/deploy.md#dynamodb-capacity).
   */
  dynamoDbCapacity?: DynamoDbCapacity;
  /** Days a timeline item is kept after its event time (TIMELINE.defaultDays). */
  timelineDays?: number;
  /** Days a quarantine/ object is kept after it was written (LAKE.quarantineExpiryDays). */
  quarantineDays?: number;
  /** Days a file λ import tagged under imports/ is kept after it was written (RETENTION.importDays). */
  importDays?: number;
  /** Days an events/ object whose day is compacted is kept after it was written (RETENTION.compactedEventsDays). */
  compactedEventsDays?: number;
  /** Gzip JSON input per Parquet part of λ compact, in MB (COMPACTION.targetMb). */
  compactionTargetMb?: number;
  /**
   * Deploy the console (infra/constructs/console-site.ts): static site behind CloudFront, a Cognito
   * user pool, the admin routes behind a JWT authorizer. Default true; false leaves all of it out.
   */
  console?: boolean;
  /** E-mail address invited into the user pool's `admin` group when the stack deploys. Default none. */
  consoleAdminEmail?: string;
  /** Prefix of the hosted sign-in domain (`<prefix>.auth.<region>.amazoncognito.com`). Default `cairn[-<stage>]-<account>`. */
  consoleDomainPrefix?: string;
  /** The built console to deploy, relative to the project root (or absolute). Default CONSOLE.distDir. */
  consoleDist?: string;
}

/** 1 billion events a month ≈ 386 events/s mean (1e9 / (30 × 86,400)); peaks of 5× the mean: 1,930 events/s. */
export const DEFAULT_EVENTS_PER_SECOND = 1930;
/**
 * Shards are sized for SHARD_HEADROOM × the peak: room for uneven partition keys, an import on top of
 * live traffic (IMPORT_RATE, 1,000 records/s) and catching up after an outage while traffic continues.
 */
export const SHARD_HEADROOM = 1.5;
/**
 * Reserved concurrency Cairn may take from the account at the default sizing (tests/infra/capacity.test.ts):
 * the pipeline functions' shards × ParallelizationFactor plus the journey cap. AWS accounts start with
 * 1,000 concurrent executions and keep 100 unreserved; collect, admin and the scheduled functions use
 * the unreserved pool.
 */
export const RESERVED_CONCURRENCY_BUDGET = 100;

/**
 * Shards of `stream` on AWS for a peak of `eventsPerSecond`, at least one. A shard costs the same
 * whatever it carries (docs/cost.md): a stack sized for 100 million events a month needs one per
 * stream, and λ import paces itself to the raw stream's shards (importRate).
 */
export function streamShards(stream: keyof typeof STREAMS, eventsPerSecond: number): number {
  const def = STREAMS[stream];
  return Math.max(1, Math.ceil((eventsPerSecond * SHARD_HEADROOM) / def.awsEventsPerShard));
}

/**
 * Records per second λ import puts on the raw stream of `rawShards` shards (CAIRN_IMPORT_RATE): half
 * of a shard's write limit per shard, so live collection keeps the other half; at most IMPORT_RATE
 * (the local stack's, what the default stack of 3 shards has always used).
 */
export function importRate(rawShards: number): number {
  return Math.min(rawShards, STREAMS.raw.shards) * 500;
}

export interface CairnSettings {
  stage: string | undefined;
  retain: boolean;
  deletionProtection: boolean;
  logRetention: RetentionDays;
  allowedOrigins: string[];
  failureDestination: FailureDestinationKind;
  athenaScanCutoffGb: number;
  /** E-mail subscribed to the alarm topic, if any. */
  alarmEmail: string | undefined;
  /** CloudFront in front of the API (implied by a WAF setting). */
  edge: boolean;
  wafRateLimit: number | undefined;
  webAclArn: string | undefined;
  maxTableReadUnits: number | undefined;
  maxTableWriteUnits: number | undefined;
  /** Peak events per second the Kinesis shards are sized for. */
  eventsPerSecond: number;
  /** `cairn:streamRetentionHours`: both streams' retention, the dedup window (CAIRN_STREAM_RETENTION_HOURS of normalize and admin). */
  streamRetentionHours: number;
  /** `cairn:dynamoDbCapacity`: every table on-demand (default) or provisioned with auto scaling. */
  dynamoDbCapacity: DynamoDbCapacity;
  /** Timeline retention in days (`cairn:timelineDays`, CAIRN_TIMELINE_DAYS of resolve and admin). */
  timelineDays: number;
  /** Days quarantine/ objects are kept (`cairn:quarantineDays`): the lake's `expire-quarantine` lifecycle rule. */
  quarantineDays: number;
  /** Days tagged imports/ objects are kept (`cairn:importDays`): the lake's `expire-imports` rule, CAIRN_IMPORT_DAYS of λ erase. */
  importDays: number;
  /** Days compacted events/ objects are kept (`cairn:compactedEventsDays`): the lake's `expire-compacted-events` lifecycle rule. */
  compactedEventsDays: number;
  /** λ compact's part size in MB (`cairn:compactionTargetMb`, CAIRN_COMPACTION_TARGET_MB). */
  compactionTargetMb: number;
  /** The console's site, sign-in and JWT-authorised admin API (`cairn:console`). */
  console: boolean;
  /** Invited into the `admin` group at deploy (`cairn:consoleAdminEmail`). */
  consoleAdminEmail: string | undefined;
  /** Hosted sign-in domain prefix (`cairn:consoleDomainPrefix`); undefined: derived from stage and account. */
  consoleDomainPrefix: string | undefined;
  /** Directory of the built console (`cairn:consoleDist`). */
  consoleDist: string;
  /** Shards of each stream on AWS (streamShards of eventsPerSecond). */
  shards: Record<keyof typeof STREAMS, number>;
  /** `cairn:busPublish`: `matched` (default) puts only events some bus rule can match; `all` every event (CAIRN_BUS_PUBLISH). */
  busPublish: 'matched' | 'all';
  /** `cairn:tracing`: X-Ray active tracing on the functions (default true). */
  tracing: boolean;
  /** `cairn:batchingWindowSeconds`: the stream consumers' batching window on AWS, whole seconds (default: the declared 1 s). */
  batchingWindowSeconds: number | undefined;
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
  alarmEmail: 'cairn:alarmEmail',
  edge: 'cairn:edge',
  wafRateLimit: 'cairn:wafRateLimit',
  webAclArn: 'cairn:webAclArn',
  maxTableReadUnits: 'cairn:maxTableReadUnits',
  maxTableWriteUnits: 'cairn:maxTableWriteUnits',
  eventsPerSecond: 'cairn:eventsPerSecond',
  timelineDays: 'cairn:timelineDays',
  quarantineDays: 'cairn:quarantineDays',
  importDays: 'cairn:importDays',
  compactedEventsDays: 'cairn:compactedEventsDays',
  compactionTargetMb: 'cairn:compactionTargetMb',
  console: 'cairn:console',
  consoleAdminEmail: 'cairn:consoleAdminEmail',
  consoleDomainPrefix: 'cairn:consoleDomainPrefix',
  consoleDist: 'cairn:consoleDist',
  busPublish: 'cairn:busPublish',
  tracing: 'cairn:tracing',
  batchingWindowSeconds: 'cairn:batchingWindowSeconds',
  streamRetentionHours: 'cairn:streamRetentionHours',
  dynamoDbCapacity: 'cairn:dynamoDbCapacity',
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
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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
  const wafRateLimit = props.wafRateLimit ?? num(ctx(CONTEXT.wafRateLimit), CONTEXT.wafRateLimit);
  if (wafRateLimit !== undefined && (!Number.isInteger(wafRateLimit) || wafRateLimit < 100 || wafRateLimit > 2_000_000_000)) {
    throw new Error(`context ${CONTEXT.wafRateLimit} must be a whole number from 100 to 2000000000 (requests per 5 minutes per IP), got ${wafRateLimit}`);
  }
  const webAclArnRaw = props.webAclArn ?? (ctx(CONTEXT.webAclArn) as string | undefined);
  const webAclArn = webAclArnRaw === '' ? undefined : webAclArnRaw;
  if (webAclArn !== undefined && !/^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[^/]+\/[^/]+$/.test(webAclArn)) {
    throw new Error(
      `context ${CONTEXT.webAclArn} must be the ARN of a WAFv2 WebACL with scope CLOUDFRONT (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>), got ${JSON.stringify(webAclArn)}`,
    );
  }
  if (wafRateLimit !== undefined && webAclArn !== undefined) throw new Error(`set either ${CONTEXT.wafRateLimit} or ${CONTEXT.webAclArn}, not both`);
  const units = (v: number | undefined, key: string) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`context ${key} must be a whole number of request units (at least 1), got ${v}`);
    return v;
  };
  const eventsPerSecond = props.eventsPerSecond ?? num(ctx(CONTEXT.eventsPerSecond), CONTEXT.eventsPerSecond) ?? DEFAULT_EVENTS_PER_SECOND;
  const shards = Object.fromEntries((Object.keys(STREAMS) as (keyof typeof STREAMS)[]).map((k) => [k, streamShards(k, eventsPerSecond)])) as Record<
    keyof typeof STREAMS,
    number
  >;
  const timelineDays = props.timelineDays ?? num(ctx(CONTEXT.timelineDays), CONTEXT.timelineDays) ?? TIMELINE.defaultDays;
  if (!Number.isInteger(timelineDays) || timelineDays < TIMELINE.minDays) {
    throw new Error(`context ${CONTEXT.timelineDays} must be a whole number of days (at least ${TIMELINE.minDays}), got ${timelineDays}`);
  }
  const quarantineDays = props.quarantineDays ?? num(ctx(CONTEXT.quarantineDays), CONTEXT.quarantineDays) ?? LAKE.quarantineExpiryDays;
  if (!Number.isInteger(quarantineDays) || quarantineDays < 1) {
    throw new Error(`context ${CONTEXT.quarantineDays} must be a whole number of days (at least 1), got ${quarantineDays}`);
  }
  const importDays = props.importDays ?? num(ctx(CONTEXT.importDays), CONTEXT.importDays) ?? RETENTION.importDays;
  if (!Number.isInteger(importDays) || importDays < 1) {
    throw new Error(`context ${CONTEXT.importDays} must be a whole number of days (at least 1), got ${importDays}`);
  }
  const streamRetentionHours = props.streamRetentionHours ?? num(ctx(CONTEXT.streamRetentionHours), CONTEXT.streamRetentionHours) ?? STREAMS.raw.retentionHours;
  if (!Number.isInteger(streamRetentionHours) || streamRetentionHours < STREAM_RETENTION.minHours || streamRetentionHours > STREAM_RETENTION.maxHours) {
    throw new Error(
      `context ${CONTEXT.streamRetentionHours} must be a whole number of hours from ${STREAM_RETENTION.minHours} to ${STREAM_RETENTION.maxHours} (Kinesis retention), got ${streamRetentionHours}`,
    );
  }
  const dynamoDbCapacity = props.dynamoDbCapacity ?? (ctx(CONTEXT.dynamoDbCapacity) as string | undefined) ?? 'on-demand';
  if (dynamoDbCapacity !== 'on-demand' && dynamoDbCapacity !== 'provisioned')
    throw new Error(`context ${CONTEXT.dynamoDbCapacity} must be on-demand or provisioned, got ${JSON.stringify(dynamoDbCapacity)}`);
  // Normalize heads the objects its dedup markers name for the dedup window (the raw retention): they must outlive it.
  const minCompactedDays = compactedEventsMinDays(dedupWindowSeconds(streamRetentionHours));
  const compactedEventsDays =
    props.compactedEventsDays ??
    num(ctx(CONTEXT.compactedEventsDays), CONTEXT.compactedEventsDays) ??
    // The default (7 days) outlives the dedup window up to 119 h of retention; a longer retention raises it to the shortest allowed.
    Math.max(RETENTION.compactedEventsDays, minCompactedDays);
  if (!Number.isInteger(compactedEventsDays) || compactedEventsDays < minCompactedDays) {
    throw new Error(
      `context ${CONTEXT.compactedEventsDays} must be a whole number of days (at least ${minCompactedDays}: the dedup window of ${CONTEXT.streamRetentionHours} and the settle time), got ${compactedEventsDays}`,
    );
  }
  const compactionTargetMb = props.compactionTargetMb ?? num(ctx(CONTEXT.compactionTargetMb), CONTEXT.compactionTargetMb) ?? COMPACTION.targetMb;
  if (!Number.isInteger(compactionTargetMb) || compactionTargetMb < 1 || compactionTargetMb > 1024) {
    throw new Error(`context ${CONTEXT.compactionTargetMb} must be a whole number of MB from 1 to 1024, got ${compactionTargetMb}`);
  }
  const domainPrefix = props.consoleDomainPrefix ?? (ctx(CONTEXT.consoleDomainPrefix) as string | undefined);
  // Cognito's rule for a domain prefix: lower-case letters, digits and hyphens, not starting or ending with a hyphen, no "aws", "amazon" or "cognito".
  if (domainPrefix && (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(domainPrefix) || /aws|amazon|cognito/.test(domainPrefix))) {
    throw new Error(
      `context ${CONTEXT.consoleDomainPrefix} must be 1-63 lower-case letters, digits and hyphens (not at either end) without "aws", "amazon" or "cognito", got ${JSON.stringify(domainPrefix)}`,
    );
  }
  const busPublish = props.busPublish ?? (ctx(CONTEXT.busPublish) as string | undefined) ?? 'matched';
  if (busPublish !== 'matched' && busPublish !== 'all')
    throw new Error(`context ${CONTEXT.busPublish} must be matched or all, got ${JSON.stringify(busPublish)}`);
  const batchingWindowSeconds = props.batchingWindowSeconds ?? num(ctx(CONTEXT.batchingWindowSeconds), CONTEXT.batchingWindowSeconds);
  if (batchingWindowSeconds !== undefined && (!Number.isInteger(batchingWindowSeconds) || batchingWindowSeconds > 300)) {
    throw new Error(`context ${CONTEXT.batchingWindowSeconds} must be a whole number of seconds from 1 to 300, got ${batchingWindowSeconds}`);
  }
  const maxTableReadUnits = units(props.maxTableReadUnits ?? num(ctx(CONTEXT.maxTableReadUnits), CONTEXT.maxTableReadUnits), CONTEXT.maxTableReadUnits);
  const maxTableWriteUnits = units(props.maxTableWriteUnits ?? num(ctx(CONTEXT.maxTableWriteUnits), CONTEXT.maxTableWriteUnits), CONTEXT.maxTableWriteUnits);
  // The caps are on-demand settings; provisioned tables are capped by their auto scaling maximum.
  if (dynamoDbCapacity === 'provisioned' && (maxTableReadUnits !== undefined || maxTableWriteUnits !== undefined)) {
    throw new Error(
      `context ${CONTEXT.maxTableReadUnits} and ${CONTEXT.maxTableWriteUnits} cap on-demand tables; with ${CONTEXT.dynamoDbCapacity}=provisioned the auto scaling maximum caps them: set one or the other`,
    );
  }
  return {
    console: props.console ?? bool(ctx(CONTEXT.console), CONTEXT.console) ?? true,
    consoleAdminEmail: emailOf(props.consoleAdminEmail ?? (ctx(CONTEXT.consoleAdminEmail) as string | undefined), CONTEXT.consoleAdminEmail),
    consoleDomainPrefix: domainPrefix || undefined,
    consoleDist: props.consoleDist ?? ((ctx(CONTEXT.consoleDist) as string | undefined) || CONSOLE.distDir),
    busPublish,
    tracing: props.tracing ?? bool(ctx(CONTEXT.tracing), CONTEXT.tracing) ?? true,
    batchingWindowSeconds,
    streamRetentionHours,
    dynamoDbCapacity,
    eventsPerSecond,
    timelineDays,
    quarantineDays,
    importDays,
    compactedEventsDays,
    compactionTargetMb,
    shards,
    edge: (props.edge ?? bool(ctx(CONTEXT.edge), CONTEXT.edge) ?? false) || wafRateLimit !== undefined || webAclArn !== undefined,
    wafRateLimit,
    webAclArn,
    maxTableReadUnits,
    maxTableWriteUnits,
    stage,
    retain,
    deletionProtection: props.deletionProtection ?? bool(ctx(CONTEXT.deletionProtection), CONTEXT.deletionProtection) ?? retain,
    logRetention: retention(props.logRetentionDays ?? num(ctx(CONTEXT.logRetentionDays), CONTEXT.logRetentionDays) ?? 30),
    allowedOrigins: props.allowedOrigins ?? list(ctx(CONTEXT.allowedOrigins)) ?? ['*'],
    failureDestination: failure,
    athenaScanCutoffGb: props.athenaScanCutoffGb ?? num(ctx(CONTEXT.athenaScanCutoffGb), CONTEXT.athenaScanCutoffGb) ?? 10,
    alarmEmail: emailOf(props.alarmEmail ?? (ctx(CONTEXT.alarmEmail) as string | undefined), CONTEXT.alarmEmail),
    dataRemovalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    name: (base) => (stage ? `${base}-${stage}` : base),
    glueName: (base) => (stage ? `${base}_${stage}` : base).replace(/-/g, '_'),
  };
}

function emailOf(v: string | undefined, key: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) throw new Error(`context ${key} must be an e-mail address, got ${JSON.stringify(v)}`);
  return v;
}
