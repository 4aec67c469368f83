/**
 * One source of truth for Cairn's resources and their settings. The CDK stack (infra/) and the
 * local runtime (local/) both read these definitions, so a name, a key schema or an event-source
 * mapping setting can never differ between the two homes.
 */

export interface StreamDef {
  id: string;
  name: string;
  /**
   * Shards of the local stream (kinesalite), and the least the AWS stream gets. On AWS the count is
   * sized from the `cairn:eventsPerSecond` peak (infra/settings.ts `streamShards`, docs/deploy.md#sizing).
   */
  shards: number;
  /**
   * Events per second one shard of this stream carries on AWS at full use: the lower of Kinesis's
   * write limit (1,000 records/s, or 1 MB/s: events here are ≈ 0.5–1 KB) and what its consumer
   * processes per shard with ParallelizationFactor 1 (docs/deploy.md#sizing). Unused locally.
   */
  awsEventsPerShard: number;
  /** Kinesis retention; longer than the consumer's maxRecordAgeSeconds plus a day (docs/deploy.md#sizing). */
  retentionHours: number;
}
export interface TableDef {
  id: string;
  name: string;
  partitionKey: string;
  sortKey?: string;
  /** Attribute holding an epoch-seconds expiry, when the table uses DynamoDB TTL. */
  ttlAttribute?: string;
  globalIndexes?: { name: string; partitionKey: string; sortKey?: string }[];
}
/** A Kinesis event-source mapping, with the semantics the local poller reproduces. */
export interface KinesisSourceDef {
  stream: keyof typeof STREAMS;
  batchSize: number;
  maxBatchingWindowMs: number;
  retryAttempts: number;
  maxRecordAgeSeconds: number;
  bisectOnError: boolean;
  /** Lambda ParallelizationFactor: concurrent batches per shard (order kept per partition key). */
  parallelization: number;
}
/** DynamoDB item operations a function may call on a table (its IAM action is `dynamodb:<name>`). */
/** `PartiQLInsert`: PartiQL INSERTs (create-only puts) sent in a BatchExecuteStatement (λ resolve's new profiles and claims, λ normalize's dedup markers). */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'Scan' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem' | 'PartiQLInsert';
/**
 * What a function may touch: the CDK grants exactly this (least privilege) and nothing else. Each
 * list names the operations the function's code calls, no more: tests/infra/iam-from-calls.test.ts
 * fails on a call not granted and on a grant no recorded call uses (docs/security.md).
 */
export interface FunctionAccess {
  tables?: Partial<Record<keyof typeof TABLES, readonly TableAction[]>>;
  /** `read`: what its event-source mapping needs; `write`: PutRecords. */
  streams?: Partial<Record<keyof typeof STREAMS, 'read' | 'write'>>;
  /**
   * Lake objects by key prefix: `read` s3:GetObject (GetObject, HeadObject), `write` s3:PutObject,
   * `delete` s3:DeleteObject (only λ erase, which deletes objects left without rows:
   * shared/privacy/lake.ts); `list` s3:ListBucket on the bucket (listings, and a 404 rather than a
   * 403 for a missing key); `deleteVersions` s3:DeleteObjectVersion and `listVersions`
   * s3:ListBucketVersions (only λ erase, which removes the noncurrent versions of an object it
   * rewrote: they hold the erased rows); `tag` s3:PutObjectTagging (λ import's expiry tag).
   */
  lake?: {
    read?: readonly string[];
    write?: readonly string[];
    delete?: readonly string[];
    deleteVersions?: readonly string[];
    tag?: readonly string[];
    list?: boolean;
    listVersions?: boolean;
  };
  /** PutEvents on the Cairn bus. */
  bus?: boolean;
  /**
   * Journey rules on the Cairn bus: events:PutRule/PutTargets/DeleteRule/RemoveTargets on rules named
   * `cairn-journey-*` of that bus only (shared/journeys/rules.ts).
   */
  busRules?: boolean;
  /**
   * One-time EventBridge Scheduler schedules `cairn-recheck-*` (default group) that invoke λ recheck
   * (segment re-evaluation, docs/segments.md): the Scheduler operations the function calls, and
   * iam:PassRole of the scheduler's role when it creates or updates them.
   */
  recheckSchedules?: readonly ('CreateSchedule' | 'UpdateSchedule' | 'DeleteSchedule')[];
  /**
   * Secrets (SECRETS) the function reads at run time: secretsmanager:GetSecretValue on each (and
   * kms:Decrypt through Secrets Manager, as they are encrypted with the Cairn key). Its environment
   * carries the secret's ARN (`SECRETS.<name>.env`), never its value.
   */
  secrets?: readonly (keyof typeof SECRETS)[];
}
export interface FunctionDef {
  id: string;
  /** Environment variables (names from ENV) the handler needs; CDK and the local runtime set them. */
  env: (keyof typeof ENV)[];
  access: FunctionAccess;
  /** Path of the handler module, relative to the project root; it exports `handler`. */
  entry: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** Lambda reserved concurrency (AWS only); unset means the account's unreserved pool. */
  reservedConcurrency?: number;
  kinesis?: KinesisSourceDef;
}

/**
 * One AWS request's time limit inside a function: a third of its timeout, at most 30 s, so a hung
 * connection is abandoned and retried while the invocation still has time (collect and admin, 10 s
 * functions, give each request 3.3 s). Set per function by the CDK as `CAIRN_AWS_REQUEST_TIMEOUT_MS`.
 */
export const requestTimeoutMs = (def: Pick<FunctionDef, 'timeoutSeconds'>): number => Math.min(30_000, Math.floor((def.timeoutSeconds * 1000) / 3));

/**
 * Retention 72 h: the mappings give up on a record after `maxRecordAgeSeconds` (24 h) and send it to
 * the failure destination; the stream keeps it a further 48 h, so a day-long outage of the function
 * or of the failure destination (or an SQS destination, which holds only shard/sequence metadata)
 * still finds the records there to re-read. Any retention from 25 h to 7 days costs the same
 * (extended retention is billed per shard-hour, docs/cost.md).
 */
export const STREAMS = {
  // Normalize does ~1,000–2,000 events/s per shard (500-event batches in 0.25–0.5 s): Kinesis's 1,000 records/s binds.
  raw: { id: 'RawStream', name: 'cairn-raw', shards: 2, awsEventsPerShard: 1000, retentionHours: 72 },
  // Resolve: ≈ 2.5 CPU ms/event (docs/benchmarks.md) on 1 vCPU plus DynamoDB waits ≈ 350 events/s per shard (estimate).
  normalized: { id: 'NormalizedStream', name: 'cairn-normalized', shards: 2, awsEventsPerShard: 350, retentionHours: 72 },
} as const satisfies Record<string, StreamDef>;

export const TABLES = {
  /** Write keys, stored as SHA-256 hashes: pk `keyHash`. */
  sources: { id: 'SourcesTable', name: 'cairn-sources', partitionKey: 'keyHash' },
  /** messageId → lake object it went to; expires after the dedup window. */
  dedup: { id: 'DedupTable', name: 'cairn-dedup', partitionKey: 'pk', ttlAttribute: 'expiresAt' },
  /** Identity graph: pk `id#<type>:<value>` → profileId (+ `cnt`, the super-node link counter). */
  identities: { id: 'IdentitiesTable', name: 'cairn-identities', partitionKey: 'pk' },
  /** Profiles (pk `profile#<id>`) and account entities (pk `group#<id>`); see docs/identity.md. */
  profiles: { id: 'ProfilesTable', name: 'cairn-profiles', partitionKey: 'pk' },
  /**
   * Per-profile event timeline: pk `profileId`, sk `<timestamp>#<messageId>`, expiring `expiresAt` =
   * event time + TIMELINE.days. Beside the events, the per-person lake index (no expiry): sk
   * `lake#<hash>` items listing the lake objects a resolve batch put the person's rows in (docs/privacy.md).
   */
  timeline: { id: 'TimelineTable', name: 'cairn-timeline', partitionKey: 'profileId', sortKey: 'sk', ttlAttribute: 'expiresAt' },
  /** Applied computed traits, segments and journeys: pk `<kind>#<id>`, and `_revision` counting their changes (shared/definitions/store.ts). */
  definitions: { id: 'DefinitionsTable', name: 'cairn-definitions', partitionKey: 'pk' },
  /**
   * Journey runtime state (docs/journeys.md): pk `run#<journey>#<profile>` (a person's run), `action#<runId>#<stepId>`
   * (the action ledger), `stats#<journey>#<n>` (counters, JOURNEYS.statsShards items; `stats#<journey>`
   * before they were sharded, still read). Ledger items expire (`expiresAt`).
   */
  journeys: { id: 'JourneysTable', name: 'cairn-journeys', partitionKey: 'pk', ttlAttribute: 'expiresAt' },
  /** Segment members index: pk `segmentId`, sk `profileId` (docs/segments.md). */
  segmentMembers: { id: 'SegmentMembersTable', name: 'cairn-segment-members', partitionKey: 'segmentId', sortKey: 'profileId' },
  /**
   * Privacy (docs/privacy.md): pk `sup#<hmac>` (a suppressed identifier, hashed with the deployment's
   * suppression key, SECRETS.suppressionKey: the list holds no PII and no hash an outsider can recompute),
   * `erasure#<id>` (an erasure request and its audit record), `erasure-queue` (ids of pending erasures).
   */
  privacy: { id: 'PrivacyTable', name: 'cairn-privacy', partitionKey: 'pk' },
  /**
   * Coupon pools (docs/journeys.md#coupons, shared/coupons/): pk `pool#<pool>` (the pool's cursor and
   * size), `slot#<pool>#<position>` (the code at a position), `code#<code>` (one code: its pool and
   * position, whom it was issued to, its redemption), `issue#<runId>#<stepId>` (what a journey's coupon
   * step issued to a run), `pool-stats#<pool>` (redemption counters), `holder#<profileId>` (the items
   * naming a profile: how λ erase finds them). Never expires: codes are the
   * shop's data, and a redemption may come months after the issue.
   */
  coupons: { id: 'CouponsTable', name: 'cairn-coupons', partitionKey: 'pk' },
} as const satisfies Record<string, TableDef>;

/**
 * DynamoDB provisioned capacity (CDK context `cairn:dynamoDbCapacity=provisioned`, docs/deploy.md#dynamodb-capacity):
 * the tables every event writes or reads get PROVISIONED billing with target-tracking auto scaling;
 * the others stay on-demand (they see admin bursts, such as a coupon load of 1,000 codes, that a
 * capacity sized from the event rate would throttle, and on-demand costs nothing while idle).
 *
 * Units per event: what `npm run bench` (`cost.*`, session traffic, 20 segments, 5 journeys,
 * 2026-12-06) counted per table, rounded up; units per import row: the import bench's 6.82 WCU per
 * new person (docs/benchmarks.md), split as a new person writes (claims, profile, timeline), rounded up.
 * infra/constructs/storage.ts turns them into each table's minimum and maximum capacity
 * (`tableCapacity`); bench/cost prices what the template says, from the counted units.
 */
export interface TableCapacityDef {
  writesPerEvent: number;
  readsPerEvent: number;
  /** Write units of one imported new person (λ import at its paced rate, on top of live traffic). */
  writesPerImportRow: number;
}
export const DYNAMODB_CAPACITY = {
  /** Target-tracking utilisation (DynamoDB's own default): 43 % headroom over the consumption before throttling. */
  targetUtilizationPercent: 70,
  /** The sizing peak is 5× the mean rate (docs/deploy.md#sizing). */
  peakToMean: 5,
  /** The quietest hour carries a quarter of the mean rate: the minimum capacity (auto scaling never goes below it). */
  troughShareOfMean: 0.25,
  /** The maximum is the sizing peak × this (the shards' SHARD_HEADROOM), plus an import at full pace. */
  headroom: 1.5,
  /** Read capacity a table may scale to whatever its event reads, so a job's scan (λ scores, erase) is served once scaling follows. */
  jobReadUnits: 1000,
  tables: {
    // Counted 1.024 WRU (one marker per message, claimed by a create-only INSERT); reads only for
    // redeliveries and retried batches, whose claims find markers (a burst of them scales up to jobReadUnits).
    dedup: { writesPerEvent: 1.1, readsPerEvent: 0.05, writesPerImportRow: 1.1 },
    // 1.024 WRU (one item per event), 0.0035 RRU.
    timeline: { writesPerEvent: 1.1, readsPerEvent: 0.01, writesPerImportRow: 1 },
    // 0.40 WRU, 0.062 RRU, and the rechecks' read and write (0.076 each) when their schedules fire.
    profiles: { writesPerEvent: 0.5, readsPerEvent: 0.15, writesPerImportRow: 2 },
    // 0.027 WRU, 0.014 RRU (claims of new identifiers).
    identities: { writesPerEvent: 0.05, readsPerEvent: 0.02, writesPerImportRow: 4 },
    // 0.096 WRU (entries and exits), no reads from events.
    segmentMembers: { writesPerEvent: 0.1, readsPerEvent: 0, writesPerImportRow: 0 },
    // 0.34 WRU, 0.052 RRU (runs, ledger, counters) and the waits' wake-ups.
    journeys: { writesPerEvent: 0.4, readsPerEvent: 0.06, writesPerImportRow: 0 },
  },
} as const satisfies {
  targetUtilizationPercent: number;
  peakToMean: number;
  troughShareOfMean: number;
  headroom: number;
  jobReadUnits: number;
  tables: Partial<Record<keyof typeof TABLES, TableCapacityDef>>;
};

export interface CapacityRange {
  min: number;
  max: number;
}
/**
 * Auto scaling range of a provisioned table at a sizing peak of `eventsPerSecond` and an import pace
 * of `importRowsPerSecond`: minimum the units of the quietest hour at the target utilisation, maximum
 * those of the peak with headroom plus an import (reads: at least jobReadUnits). Undefined: the table
 * stays on-demand.
 */
export function tableCapacity(
  table: keyof typeof TABLES,
  eventsPerSecond: number,
  importRowsPerSecond: number,
): { writes: CapacityRange; reads: CapacityRange } | undefined {
  const c = DYNAMODB_CAPACITY;
  const def = (c.tables as Partial<Record<keyof typeof TABLES, TableCapacityDef>>)[table];
  if (!def) return undefined;
  const target = c.targetUtilizationPercent / 100;
  const trough = (eventsPerSecond / c.peakToMean) * c.troughShareOfMean;
  const range = (perEvent: number, extra: number, floorMax: number): CapacityRange => {
    const min = Math.max(1, Math.ceil((trough * perEvent) / target));
    return { min, max: Math.max(min, floorMax, Math.ceil((eventsPerSecond * c.headroom * perEvent + extra) / target)) };
  };
  return {
    writes: range(def.writesPerEvent, importRowsPerSecond * def.writesPerImportRow, 1),
    reads: range(def.readsPerEvent, 0, c.jobReadUnits),
  };
}

/**
 * Secrets (docs/security.md#secrets): generated values kept in Secrets Manager, read at run time by
 * the functions whose `access.secrets` names them, through one cached reader (shared/aws/secrets.ts).
 * A function's environment holds the secret's ARN on AWS, or its name locally (`env`), never the
 * value. The CDK generates them (infra/constructs/secrets.ts); the local stack creates them in its
 * Secrets Manager (local/secretsmanager) from `localValue`, or from random bytes once per data
 * directory when it has none.
 */
export interface SecretDef {
  /** CDK construct id; the stack output `<id>Arn` names the secret. */
  id: string;
  /** Name in the local Secrets Manager (on AWS CloudFormation names it). */
  name: string;
  description: string;
  /** The ENV variable holding its ARN (AWS) or name (local). */
  env: keyof typeof ENV;
  /** Characters of the generated value (letters and digits). */
  length: number;
  /** Local value; unset: generated once per local data directory and kept there. */
  localValue?: string;
  /** Why it has no rotation schedule (cdk-nag AwsSolutions-SMG4); docs/deploy.md#secrets says how to rotate it by hand, if ever. */
  noRotation: string;
}
export const SECRETS = {
  /** HMAC-SHA256 key of journey webhook signatures (X-Cairn-Signature, docs/journeys.md#webhooks). */
  webhook: {
    id: 'WebhookSecret',
    name: 'cairn-webhook-secret',
    description: 'Cairn journey webhooks: HMAC-SHA256 key of X-Cairn-Signature',
    env: 'webhookSecretId',
    length: 48,
    // The demo's local CRM (cli/demo.ts) and the docs verify with this one.
    localValue: 'dev-webhook-secret',
    noRotation:
      'The webhook signing key is shared with the receivers that verify X-Cairn-Signature; rotating it is a coordinated change with them, so it is rotated by hand, not on a schedule.',
  },
  /**
   * Key of the suppression hashes (HMAC-SHA256, docs/privacy.md#the-suppression-list): without it a
   * hash on the list cannot be tested against guessed phone numbers or emails. Never rotated: a new key
   * would stop matching every identifier already on the list, and erased people would come back.
   */
  suppressionKey: {
    id: 'SuppressionKey',
    name: 'cairn-suppression-key',
    description: "Cairn suppression list: HMAC-SHA256 key of the erased identifiers' hashes (never rotate: docs/deploy.md#secrets)",
    env: 'suppressionKeyId',
    length: 64,
    noRotation:
      'The suppression list holds identifiers only as HMACs under this key: a rotated key would no longer match any of them, un-suppressing every erased person, so it must never be rotated (docs/deploy.md#secrets).',
  },
} as const satisfies Record<string, SecretDef>;

/** The local twin's Athena (local/athena/): one workgroup, DuckDB over the local lake. */
export const LOCAL_ATHENA = { workgroup: 'cairn-local' } as const;

export const LAKE = {
  bucketPrefix: 'cairn-lake',
  /** Local bucket name; on AWS the bucket name is generated and passed in LAKE_BUCKET. */
  localBucket: 'cairn-lake',
  eventsPrefix: 'events/',
  quarantinePrefix: 'quarantine/',
  /**
   * Days a quarantine/ object is kept: the lake's lifecycle rule `expire-quarantine` on AWS (CDK
   * context `cairn:quarantineDays`), so every erasure pass, which reads quarantine/ whole, reads a
   * bounded amount (docs/privacy.md). The local stack has no lifecycle rules (docs/local.md).
   */
  quarantineExpiryDays: 30,
  profilesPrefix: 'profiles/',
  /** One object per audited admin request (shared/admin/audit.ts, docs/security.md#audit-log). */
  auditPrefix: 'audit/',
  /** Journey step outcomes: λ normalize's batch objects of the rows λ journey sends on the raw stream (shared/journeys/steps.ts, docs/lake.md). */
  journeyStepsPrefix: 'journey_steps/',
  /** Batches the local runtime's event-source mappings gave up on (local/poller-dispatch.ts); erased by λ erase. */
  failedPrefix: 'failed/',
  /**
   * Batches AWS Lambda's S3 on-failure destination wrote (the key layout is Lambda's:
   * `aws/lambda/<mapping-uuid>/…`, infra/constructs/failure-destination.ts); erased by λ erase.
   */
  lambdaFailurePrefix: 'aws/lambda/',
  /** Files dropped here are imported by λ import (docs/import.md); reports and rejects are written beside them. */
  importsPrefix: 'imports/',
  /** Compacted `events` (docs/lake.md#compaction): Parquet parts, `parquet/events/dt=YYYY-MM-DD/part-<hash>.parquet`. */
  parquetEventsPrefix: 'parquet/events/',
  /** The day's manifest of compacted events: which parts are published and which JSON objects they replace. */
  compactionManifestsPrefix: 'compaction/manifests/events/',
  /** A day's parts written but not published yet (published one grace period later: COMPACTION.graceMinutes). */
  compactionPendingPrefix: 'compaction/pending/events/',
  glueDatabase: 'cairn',
} as const;

/**
 * How long the stack keeps what erasure does not rewrite (docs/privacy.md "Where a person's data can
 * rest"): the lake's lifecycle rules (infra/constructs/lake.ts), the journey failure queue's retention
 * (infra/constructs/journeys.ts), and what λ erase reports as "expires by" (shared/privacy/reach.ts).
 * tests/infra/lake-lifecycle.test.ts checks the stack sets each.
 */
export const RETENTION = {
  /** `expire-old-versions`: a noncurrent version of a lake object, days after it became noncurrent. */
  noncurrentVersionDays: 30,
  /** `expire-athena-results`: query results, days after they were written. */
  athenaResultsDays: 30,
  /** `expire-failed-batches`: Lambda's on-failure records under `aws/lambda/`, days after they were written. */
  failedBatchDays: 90,
  /** `expire-imports`: files λ import tagged (IMPORTS.expiryTag), days after they were written; `cairn:importDays` sets it. */
  importDays: 30,
  /** Messages of the journey function's on-failure queue (SQS retention; 14 days is SQS's maximum). */
  journeyFailureQueueDays: 14,
  /**
   * Longest an event about a person can take to reach the journey failure queue after it was put on
   * the bus: the journey rules' EventBridge retry (MaximumEventAgeInSeconds, 24 h,
   * shared/journeys/rules.ts) plus λ journey's asynchronous invocation age (6 h).
   */
  journeyFailureLagHours: 30,
  /** DynamoDB point-in-time recovery window (every table: infra/constructs/storage.ts). */
  tableBackupDays: 35,
  /**
   * `expire-compacted-events`: an events/ object whose rows a published Parquet part holds (tagged
   * COMPACTION.expiryTag by λ compact), days after it was written (CDK context `cairn:compactedEventsDays`).
   * At least COMPACTED_EVENTS_MIN_DAYS: normalize heads the object a dedup marker names for the dedup window.
   */
  compactedEventsDays: 7,
} as const;

export const BUS = {
  name: 'cairn',
  source: 'cairn',
  /**
   * How long a publisher keeps the bus's rules before listing them again (CAIRN_BUS_PUBLISH=matched,
   * the default: only events some rule can match are put, docs/eventbridge.md). A rule created now
   * sees the events published from at most this long after; the definitions reach λ resolve as late.
   */
  rulesRefreshMs: 5_000,
  /** The publishers' variable: `matched` (default) or `all` (infra setting `cairn:busPublish`). */
  publishVar: 'CAIRN_BUS_PUBLISH',
} as const;

/**
 * File drops (docs/import.md): an object created under LAKE.importsPrefix invokes `fn` with an S3
 * event. On AWS the lake bucket sends its object events to EventBridge and a rule on the default
 * bus invokes the function (infra/constructs/imports.ts); locally s3rver's object events do
 * (local/stack.ts). Same handler, same filter.
 */
export const IMPORTS = {
  prefix: 'imports/',
  fn: 'import',
  /**
   * The tag λ import puts on every object it reads or writes under `imports/` except manifests: the
   * lake's `expire-imports` lifecycle rule expires objects carrying it (RETENTION.importDays), so
   * dropped files, rejects, reports and checkpoints expire while manifests, which hold no personal
   * data and serve every later drop, stay (docs/import.md, docs/privacy.md).
   */
  expiryTag: { key: 'cairn-expiry', value: 'import' },
} as const;

/**
 * Stream retention a deployment may choose (CDK context `cairn:streamRetentionHours`, docs/deploy.md#sizing):
 * 24 h is Kinesis's base retention (no extended-retention charge), 168 h the longest extended retention
 * billed per shard-hour. The default is STREAMS' 72 h.
 */
export const STREAM_RETENTION = { minHours: 24, maxHours: 168 } as const;

/**
 * Duplicate messageIds are dropped for this long: the raw stream's retention (docs/api.md#collection-api:
 * at least 24 h). Not shorter than it, so a mapping that restarts at TRIM_HORIZON (docs/deploy.md)
 * re-reads nothing the dedup table has forgotten; not longer, since no record older than that is re-read.
 */
export const dedupWindowSeconds = (rawRetentionHours: number): number => rawRetentionHours * 3600;
/** The dedup window of the default retention (72 h); λ normalize takes the deployed one from CAIRN_STREAM_RETENTION_HOURS. */
export const DEDUP_WINDOW_SECONDS = dedupWindowSeconds(STREAMS.raw.retentionHours);

/**
 * The mappings' maximum record age for a stream retention: the declared 24 h, but always an hour under
 * the retention, so a record the mapping gives up on reaches the failure destination before the
 * stream trims it (at 24 h retention: 23 h; the outage margin is the retention minus this).
 */
export const maxRecordAgeSeconds = (source: Pick<KinesisSourceDef, 'maxRecordAgeSeconds'>, retentionHours: number): number =>
  Math.min(source.maxRecordAgeSeconds, (retentionHours - 1) * 3600);

/**
 * Compaction of the lake's `events` into Parquet (λ compact, `npx cairn lake compact`, docs/lake.md#compaction).
 */
export const COMPACTION = {
  /**
   * Hours after a day ends before its objects are compacted: past the mappings' maxRecordAgeSeconds
   * (24 h) normalize writes no more to that day but for a replay, which compaction folds in later.
   */
  settleHours: 25,
  /**
   * Minutes between writing a day's parts and publishing them in its manifest: longer than any query
   * runs (Athena's default DML timeout is 30 minutes), so a query never reads the manifest and the
   * files at moments that disagree (tests/unit/lake-compaction.property.test.ts).
   */
  graceMinutes: 45,
  /** Gzip JSON Lines bytes per Parquet part (about the part's size; CDK context `cairn:compactionTargetMb`). */
  targetMb: 128,
  /**
   * The tag λ compact puts on an events/ object once a published manifest names it: the lake's
   * `expire-compacted-events` lifecycle rule expires it RETENTION.compactedEventsDays after it was
   * written. Nothing but that rule removes it (λ compact may not delete: docs/security.md).
   */
  expiryTag: { key: 'cairn-expiry', value: 'compacted' },
} as const;

/** The shortest `cairn:compactedEventsDays`: the dedup window (normalize heads the objects its markers name) and the settle time, in whole days. */
export const compactedEventsMinDays = (dedupSeconds: number): number => Math.ceil((dedupSeconds / 3600 + COMPACTION.settleHours) / 24) + 1;
/** compactedEventsMinDays of the default dedup window. */
export const COMPACTED_EVENTS_MIN_DAYS = compactedEventsMinDays(DEDUP_WINDOW_SECONDS);

const streamSource = (stream: keyof typeof STREAMS): KinesisSourceDef => ({
  stream,
  batchSize: 500,
  maxBatchingWindowMs: 1000, // Lambda's window is whole seconds: keep both homes alike
  retryAttempts: 5,
  maxRecordAgeSeconds: 24 * 3600,
  bisectOnError: true,
  // 1 for both consumers: resolve's exactly-once bookkeeping (shard marker, per-shard dedupe windows,
  // docs/identity.md) and normalize's lake object keys (`<shardId>-<firstSeq>`, dedup recovery) assume one
  // batch per shard at a time. Throughput scales with shards instead (docs/deploy.md#sizing).
  parallelization: 1,
});

export const FUNCTIONS = {
  collect: {
    id: 'Collect',
    entry: 'functions/collect/index.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    env: ['rawStream', 'sourcesTable'],
    access: { tables: { sources: ['GetItem'] }, streams: { raw: 'write' } },
  },
  normalize: {
    id: 'Normalize',
    entry: 'functions/normalize/index.ts',
    memoryMb: 1024,
    timeoutSeconds: 60,
    kinesis: streamSource('raw'),
    env: ['normalizedStream', 'lakeBucket', 'dedupTable', 'privacyTable', 'suppressionKeyId', 'streamRetentionHours'],
    access: {
      // dedup: markers claimed by create-only INSERTs, read (and rewritten) only when a claim found one; privacy: the suppression list read, drops counted.
      tables: { dedup: ['PartiQLInsert', 'BatchGetItem', 'BatchWriteItem'], privacy: ['GetItem', 'BatchGetItem', 'UpdateItem'] },
      streams: { raw: 'read', normalized: 'write' },
      // A duplicate's marker names the events object that holds it (HeadObject); a missing one must be a 404.
      // journey_steps/: the step rows λ journey sends through the raw stream (shared/message/lake-rows.ts).
      lake: { read: ['events/', 'journey_steps/'], write: ['events/', 'quarantine/', 'journey_steps/'], list: true },
      // The suppression hashes' key (every function that hashes identifiers reads it).
      secrets: ['suppressionKey'],
    },
  },
  resolve: {
    id: 'Resolve',
    entry: 'functions/resolve/index.ts',
    // 1,769 MB is one full vCPU: resolve is CPU-bound (the SDK's per-request work), so this doubles its
    // rate per shard at about the same GB-seconds per event (docs/deploy.md#sizing).
    memoryMb: 1769,
    timeoutSeconds: 120,
    kinesis: { ...streamSource('normalized'), parallelization: 1 },
    env: [
      'identitiesTable',
      'profilesTable',
      'timelineTable',
      'lakeBucket',
      'eventBus',
      'definitionsTable',
      'segmentMembersTable',
      'recheckTargetArn',
      'recheckRoleArn',
      'privacyTable',
      'timelineDays',
      'suppressionKeyId',
    ],
    access: {
      tables: {
        identities: ['BatchGetItem', 'UpdateItem', 'PartiQLInsert'],
        profiles: ['BatchGetItem', 'PutItem', 'PartiQLInsert'],
        timeline: ['BatchWriteItem'],
        definitions: ['GetItem', 'Scan'],
        segmentMembers: ['BatchWriteItem'],
        privacy: ['GetItem', 'BatchGetItem', 'UpdateItem'],
      },
      streams: { normalized: 'read' },
      lake: { write: ['profiles/', 'quarantine/'] },
      bus: true,
      recheckSchedules: ['CreateSchedule', 'UpdateSchedule', 'DeleteSchedule'],
      secrets: ['suppressionKey'],
    },
  },
  admin: {
    id: 'Admin',
    entry: 'functions/admin/index.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    env: [
      'identitiesTable',
      'profilesTable',
      'timelineTable',
      'definitionsTable',
      'segmentMembersTable',
      'eventBus',
      'journeyFunction',
      'recheckTargetArn',
      'recheckRoleArn',
      'journeysTable',
      'privacyTable',
      'lakeBucket',
      'sourcesTable',
      'timelineDays',
      'importDays',
      'streamRetentionHours',
      'couponsTable',
      'suppressionKeyId',
      // Lake queries and journey simulations (Athena; its grants: infra/constructs/lake-query-access.ts).
      'athenaWorkgroup',
      'lakeDatabase',
      // Quarantine replay (POST /v1/quarantine/replay) puts rows back onto these.
      'rawStream',
      'normalizedStream',
    ],
    access: {
      // sources: write-key rotation and revocation (shared/admin/keys.ts, docs/security.md).
      // identities UpdateItem, profiles PutItem, timeline BatchWriteItem: unmerge (POST /v1/profiles/{identifier}/unmerge).
      // profiles Scan: a segment's size before it is saved (POST /v1/segments/preview), read as a sweep reads it.
      tables: {
        identities: ['BatchGetItem', 'UpdateItem'],
        profiles: ['BatchGetItem', 'PutItem', 'Scan'],
        timeline: ['Query', 'BatchWriteItem'],
        // definitions BatchGetItem, UpdateItem: journey versions and pause/resume/archive (shared/definitions/dynamo-versions.ts).
        definitions: ['GetItem', 'BatchGetItem', 'Scan', 'PutItem', 'UpdateItem', 'DeleteItem'],
        segmentMembers: ['Query'],
        // journeys BatchGetItem: the counters of every version (shared/journeys/store.ts getStats).
        journeys: ['GetItem', 'BatchGetItem'],
        privacy: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'],
        sources: ['Scan', 'PutItem', 'UpdateItem'],
        // coupons: loading and generating codes (a lease on the pool, its codes and slots, the new size) and the pool's status.
        coupons: ['GetItem', 'PutItem', 'UpdateItem'],
      },
      // The export (GET /v1/profiles/{identifier}/export) reads the objects the person's timeline names;
      // the audit log writes one object per audited request (shared/admin/s3-audit.ts). Quarantine replay
      // lists and reads quarantine/ and reads and writes its ledger (replay/quarantine/; a ledger object
      // not there yet must be a 404: list).
      lake: { read: ['events/', 'quarantine/', 'replay/quarantine/'], write: ['audit/', 'replay/quarantine/'], list: true },
      streams: { raw: 'write', normalized: 'write' },
      // profile.unmerged
      bus: true,
      busRules: true,
      // Sweeps after a segment PUT/DELETE: each name carries its start time, so it is only ever created.
      recheckSchedules: ['CreateSchedule'],
      // Erasure requests and the 410 of an erased person's profile hash their identifiers.
      secrets: ['suppressionKey'],
    },
  },
  /** Segment re-evaluation without a new event: per-profile schedules (windows sliding) and sweeps after a segment PUT. */
  recheck: {
    id: 'Recheck',
    entry: 'functions/recheck/index.ts',
    memoryMb: 512,
    timeoutSeconds: 120,
    env: ['profilesTable', 'definitionsTable', 'segmentMembersTable', 'eventBus', 'recheckTargetArn', 'recheckRoleArn'],
    access: {
      tables: { profiles: ['BatchGetItem', 'PutItem', 'Scan'], definitions: ['GetItem', 'Scan'], segmentMembers: ['BatchWriteItem'] },
      bus: true,
      recheckSchedules: ['CreateSchedule', 'UpdateSchedule', 'DeleteSchedule'],
    },
  },
  /** Daily full snapshot of the live profiles into the lake's `profiles` table (SCHEDULES.dailyProfileSnapshot). */
  snapshot: {
    id: 'Snapshot',
    entry: 'functions/snapshot/index.ts',
    memoryMb: 1024,
    timeoutSeconds: 900,
    env: ['profilesTable', 'lakeBucket', 'privacyTable'],
    // Runs must not overlap (two would write the same day's parts): one at a time.
    reservedConcurrency: 1,
    // Lists a day's objects so a run blanks an earlier run's and a crashed step's; never reads an object.
    // privacy: the run's cursor (item job#snapshot), so a run continues over invocations (shared/profiles/snapshot.ts).
    access: { tables: { profiles: ['Scan'], privacy: ['GetItem', 'PutItem'] }, lake: { write: ['profiles/'], list: true } },
  },
  /**
   * RFM scores and lifecycle stage written back to profiles as computed traits (SCHEDULES.dailyScores,
   * shared/scores/run.ts): scans profiles, reads timelines for last orders, writes changed profiles
   * (conditional, with segment settling) and publishes segment.entered/exited like λ recheck.
   */
  scores: {
    id: 'Scores',
    entry: 'functions/scores/index.ts',
    memoryMb: 1024,
    timeoutSeconds: 900,
    env: ['profilesTable', 'timelineTable', 'definitionsTable', 'segmentMembersTable', 'eventBus', 'recheckTargetArn', 'recheckRoleArn'],
    // Runs must not overlap (both would score and settle the same profiles): one at a time.
    reservedConcurrency: 1,
    access: {
      tables: { profiles: ['BatchGetItem', 'PutItem', 'Scan'], timeline: ['Query'], definitions: ['GetItem', 'Scan'], segmentMembers: ['BatchWriteItem'] },
      bus: true,
      recheckSchedules: ['CreateSchedule', 'UpdateSchedule', 'DeleteSchedule'],
    },
  },
  /**
   * Journeys (docs/journeys.md): invoked asynchronously by the journey rules of the bus and by wait
   * schedules. Its SES/SNS/Scheduler grants and its on-failure queue come from infra/constructs/journeys.ts.
   */
  journey: {
    id: 'Journey',
    entry: 'functions/journey/index.ts',
    memoryMb: 512,
    timeoutSeconds: 60,
    env: [
      'journeysTable',
      'profilesTable',
      'timelineTable',
      'definitionsTable',
      'rawStream',
      'eventBus',
      'journeySchedulerRole',
      'journeyScheduleGroup',
      'emailFrom',
      'webhookSecretId',
      'couponsTable',
    ],
    // Fan-out cap: a segment that many people enter at once becomes that many async invocations. Above
    // the cap Lambda throttles and its async queue retries them (up to 6 h), so a big entry is spread
    // out instead of taking the account's concurrency from collect and the pipeline (docs/deploy.md#sizing).
    reservedConcurrency: 50,
    access: {
      // timeline Query: the events since a run's start (docs/journeys.md#out-of-order-events).
      // coupons: a coupon step takes a position (UpdateItem on the pool's cursor), reads its slot, records the
      // issue and marks the code (PutItem/UpdateItem, conditional); a redemption marks the code (shared/coupons).
      tables: {
        journeys: ['GetItem', 'PutItem', 'UpdateItem'],
        profiles: ['GetItem'],
        timeline: ['Query'],
        definitions: ['GetItem'],
        coupons: ['GetItem', 'PutItem', 'UpdateItem'],
      },
      // raw: pipeline actions' messages, and the lake's journey_steps rows (shared/journeys/stream-steps.ts).
      streams: { raw: 'write' },
      bus: true,
      secrets: ['webhook'],
    },
  },
  /**
   * Erasure (docs/privacy.md): every SCHEDULES.erasure run erases the pending requests (graph, profiles
   * incl. merged-away, timeline, segment membership, journey state and waits, coupon links, recheck schedules, dedup
   * markers, lake rows). Its journey-wait schedule grant comes from infra/constructs/privacy.ts.
   */
  erase: {
    id: 'Erase',
    entry: 'functions/erase/index.ts',
    // A compacted day's Parquet part is rewritten in memory (up to COMPACTION.targetMb of gzip JSON ≈ 1 GB of rows).
    memoryMb: 3008,
    timeoutSeconds: 900,
    // One run at a time: a run continues the lake pass the previous one left (its cursor, docs/privacy.md).
    reservedConcurrency: 1,
    env: [
      'privacyTable',
      'identitiesTable',
      'profilesTable',
      'timelineTable',
      'definitionsTable',
      'segmentMembersTable',
      'journeysTable',
      'dedupTable',
      'lakeBucket',
      'recheckTargetArn',
      'recheckRoleArn',
      'journeyScheduleGroup',
      'suppressionKeyId',
      'couponsTable',
    ],
    access: {
      tables: {
        // privacy: requests, queue, suppression list, and the lake pass's cursor (erasure-pass, overwritten
        // without its state when the pass ends: a PutItem, never a DeleteItem).
        privacy: ['GetItem', 'PutItem', 'UpdateItem'],
        identities: ['GetItem', 'DeleteItem'],
        profiles: ['BatchGetItem', 'GetItem', 'DeleteItem'],
        timeline: ['Query', 'BatchWriteItem'],
        definitions: ['Scan'],
        segmentMembers: ['GetItem', 'DeleteItem'],
        journeys: ['GetItem', 'DeleteItem', 'BatchWriteItem'],
        dedup: ['BatchWriteItem'],
        // coupons: the person's holder item (read, deleted), their issues (read, deleted iff theirs), their
        // codes (profile id removed iff theirs: UpdateItem); never a scan.
        coupons: ['GetItem', 'UpdateItem', 'DeleteItem'],
      },
      // Lists and rewrites objects holding the person's rows (lake tables, the Parquet parts of compacted
      // events, failed batches), deletes
      // those left with none, and removes the noncurrent versions such a rewrite leaves behind.
      lake: {
        read: ['events/', 'quarantine/', 'profiles/', 'journey_steps/', 'failed/', 'aws/lambda/', 'parquet/events/'],
        write: ['events/', 'quarantine/', 'profiles/', 'journey_steps/', 'failed/', 'aws/lambda/', 'parquet/events/'],
        delete: ['events/', 'quarantine/', 'profiles/', 'journey_steps/', 'failed/', 'aws/lambda/', 'parquet/events/'],
        deleteVersions: ['events/', 'quarantine/', 'profiles/', 'journey_steps/', 'failed/', 'aws/lambda/', 'parquet/events/'],
        list: true,
        listVersions: true,
      },
      // Cancels the person's recheck schedule (never creates one).
      recheckSchedules: ['DeleteSchedule'],
      // The person's identifiers are matched by their suppression hashes (lake rows, identifiers added since the request).
      secrets: ['suppressionKey'],
    },
  },
  /**
   * Compaction of the lake's `events` into Parquet (SCHEDULES.lakeCompaction, shared/lake/compact.ts,
   * docs/lake.md#compaction): reads a due day's JSON Lines objects, writes sorted Parquet parts and the
   * day's manifest, then tags the objects for expiry. A part's rows are held in memory while it is
   * written (COMPACTION.targetMb of gzip JSON ≈ 1 GB of rows).
   */
  compact: {
    id: 'Compact',
    entry: 'functions/compact/index.ts',
    memoryMb: 3008,
    timeoutSeconds: 900,
    // Runs must not overlap (two would write and publish the same day's manifest): one at a time.
    reservedConcurrency: 1,
    env: ['lakeBucket', 'compactionTargetMb'],
    access: {
      // read: events/ objects, manifests; write: parts and manifests; tag: the expiry tag on compacted
      // events/ objects (the lifecycle rule removes them: λ compact deletes nothing); list: days, objects.
      // Manifests live under compaction/, not a `_`-prefixed folder of parquet/: Hive readers may take those for hidden.
      lake: { read: ['events/', 'compaction/'], write: ['parquet/events/', 'compaction/'], tag: ['events/'], list: true },
    },
  },
  /**
   * Bulk import of a file dropped under `imports/` in the lake (docs/import.md): the rows enter the
   * pipeline where the collector puts them, on the raw stream. Reads `imports/*`; writes only its
   * report, rejects and checkpoint beside the file (that grant, on those suffixes, comes from
   * infra/constructs/imports.ts).
   */
  import: {
    id: 'Import',
    entry: 'functions/import/index.ts',
    memoryMb: 1024,
    timeoutSeconds: 900,
    env: ['rawStream', 'lakeBucket', 'importRate'],
    // list: a dropped file or manifest not there yet must be a 404 (the import waits for it), not a 403.
    // tag: the expiry tag on the files it reads and the outputs it writes (IMPORTS.expiryTag).
    access: { streams: { raw: 'write' }, lake: { read: ['imports/'], tag: ['imports/'], list: true } },
  },
} as const satisfies Record<string, FunctionDef>;

/**
 * Recurring EventBridge Scheduler schedules that invoke a function. CDK creates them on AWS; the
 * local stack creates them (idempotently) in its scheduler when it starts. Payload: `{}`.
 */
export interface ScheduleDef {
  id: string;
  name: string;
  expression: string;
  fn: keyof typeof FUNCTIONS;
  description: string;
}
export const SCHEDULES = {
  dailyProfileSnapshot: {
    id: 'DailyProfileSnapshot',
    name: 'cairn-daily-profile-snapshot',
    // Every 15 minutes: a run continues the day's snapshot from its cursor, or does nothing once it is done (docs/deploy.md).
    expression: 'rate(15 minutes)',
    fn: 'snapshot',
    description: 'Daily full snapshot of the live profiles into the lake (profiles table, snapshot_kind daily)',
  },
  dailyScores: {
    id: 'DailyScores',
    name: 'cairn-daily-scores',
    expression: 'rate(1 day)',
    fn: 'scores',
    description: 'Daily RFM scores and lifecycle stage written back to profiles as computed traits (rfm_group, lifecycle_stage)',
  },
  lakeCompaction: {
    id: 'LakeCompaction',
    name: 'cairn-lake-compaction',
    // Hourly: a day needs two runs a grace period apart (compact, then publish; docs/lake.md#compaction).
    expression: 'rate(1 hour)',
    fn: 'compact',
    description: "Compacts the lake's events into Parquet, day by day, once a day is past the dedup window",
  },
  erasure: {
    id: 'Erasure',
    name: 'cairn-erasure',
    expression: 'rate(10 minutes)',
    fn: 'erase',
    description: 'Erases the pending erasure requests (DELETE /v1/profiles/{identifier}, docs/privacy.md)',
  },
} as const satisfies Record<string, ScheduleDef>;

/**
 * HTTP routes. API Gateway (HTTP API) on AWS and the local HTTP server both route from this list.
 * `auth`: `writeKey` routes check the write key in the handler; `admin` routes use IAM on AWS and
 * the bearer token locally.
 */
export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS' | 'ANY';
  path: string;
  fn: keyof typeof FUNCTIONS;
  auth: 'writeKey' | 'admin';
}
export const COLLECT_PATHS = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import'] as const;
/**
 * The one-letter paths analytics.js 2.0 (`@segment/analytics-next`) posts to under its `apiHost`
 * (`/v1/t` for track, …, `/v1/b` in batching mode), with `text/plain` bodies (docs/browser.md).
 */
export const BROWSER_COLLECT_PATHS = { t: 'track', i: 'identify', p: 'page', s: 'screen', g: 'group', a: 'alias', b: 'batch' } as const;
/** Message types the pixel routes accept (`GET /v1/pixel/{type}`, `GET /pixel/v1/{type}`). */
export const PIXEL_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;
export const ROUTES: RouteDef[] = [
  ...COLLECT_PATHS.map((p): RouteDef => ({ method: 'POST', path: `/v1/${p}`, fn: 'collect', auth: 'writeKey' })),
  // Web browsers (docs/browser.md): analytics.js 2.0 settings and short paths, RudderStack's
  // JavaScript SDK (sourceConfig and its unload beacon), and the GET pixel for email opens.
  ...Object.keys(BROWSER_COLLECT_PATHS).map((p): RouteDef => ({ method: 'POST', path: `/v1/${p}`, fn: 'collect', auth: 'writeKey' })),
  { method: 'GET', path: '/v1/projects/{writeKey}/settings', fn: 'collect', auth: 'writeKey' },
  { method: 'GET', path: '/sourceConfig', fn: 'collect', auth: 'writeKey' },
  { method: 'POST', path: '/beacon/v1/batch', fn: 'collect', auth: 'writeKey' },
  { method: 'GET', path: '/v1/pixel/{type}', fn: 'collect', auth: 'writeKey' },
  { method: 'GET', path: '/pixel/v1/{type}', fn: 'collect', auth: 'writeKey' },
  // The console's search box: any identifier as typed (GET /v1/profiles?q=).
  { method: 'GET', path: '/v1/profiles', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{identifier}', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{identifier}/events', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{identifier}/merges', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{identifier}/journeys', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{identifier}/export', fn: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/profiles/{identifier}/unmerge', fn: 'admin', auth: 'admin' },
  { method: 'DELETE', path: '/v1/profiles/{identifier}', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/erasures/{id}', fn: 'admin', auth: 'admin' },
  // Definitions; `policies` holds the one policy across journeys (docs/journeys.md#governance).
  ...(['computed-traits', 'segments', 'journeys', 'policies'] as const).flatMap((area): RouteDef[] => [
    { method: 'GET', path: `/v1/${area}`, fn: 'admin', auth: 'admin' },
    { method: 'GET', path: `/v1/${area}/{id}`, fn: 'admin', auth: 'admin' },
    { method: 'PUT', path: `/v1/${area}/{id}`, fn: 'admin', auth: 'admin' },
    { method: 'DELETE', path: `/v1/${area}/{id}`, fn: 'admin', auth: 'admin' },
  ]),
  { method: 'GET', path: '/v1/segments/{id}/members', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/segments/{id}/size', fn: 'admin', auth: 'admin' },
  // A segment's size before it is saved (the console's estimate).
  { method: 'POST', path: '/v1/segments/preview', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/journeys/{id}/stats', fn: 'admin', auth: 'admin' },
  // Journey versions and lifecycle (docs/journeys.md#versions).
  { method: 'GET', path: '/v1/journeys/{id}/versions', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/journeys/{id}/versions/{version}', fn: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/journeys/{id}/pause', fn: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/journeys/{id}/resume', fn: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/journeys/{id}/archive', fn: 'admin', auth: 'admin' },
  // A dry run over the lake's history (docs/journeys.md#simulation).
  { method: 'POST', path: '/v1/journeys/simulate', fn: 'admin', auth: 'admin' },
  // Coupon pools (docs/journeys.md#coupons): status, codes loaded from a file, generated codes.
  { method: 'GET', path: '/v1/coupons/{pool}', fn: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/coupons/{pool}/codes', fn: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/coupons/{pool}/generate', fn: 'admin', auth: 'admin' },
  // Sources and write keys (docs/security.md): list, rotate with an overlap window, trust level, revoke.
  { method: 'GET', path: '/v1/sources', fn: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/sources/{id}/keys', fn: 'admin', auth: 'admin' },
  { method: 'PUT', path: '/v1/sources/{id}/trust', fn: 'admin', auth: 'admin' },
  { method: 'DELETE', path: '/v1/sources/{id}/keys/{keyId}', fn: 'admin', auth: 'admin' },
  // Lake queries: reports, the event catalogue, quarantine, privacy requests, throughput (shared/reports/routes.ts).
  { method: 'POST', path: '/v1/lake/queries', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/lake/queries/{id}', fn: 'admin', auth: 'admin' },
  { method: 'DELETE', path: '/v1/lake/queries/{id}', fn: 'admin', auth: 'admin' },
  { method: 'POST', path: '/v1/quarantine/replay', fn: 'admin', auth: 'admin' },
];

/**
 * CORS of the HTTP API. API Gateway answers every preflight itself from this configuration and
 * adds the allow-origin header to every answer, ignoring CORS headers a function returns
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html); the local
 * server does the same (local/cors.ts). Origins are a deploy setting (`cairn:allowedOrigins`,
 * default `*`). The headers are those browser SDKs send (a preflight asking for any other fails
 * in the browser): analytics.js 2.0 (`Authorization`, `X-Retry-Count`), RudderStack's JavaScript SDK
 * (`AnonymousId`, `SentAt`, `Rsa-*` on retries), gzip senders (`Content-Encoding`).
 */
export const CORS = {
  allowMethods: ['GET', 'POST', 'OPTIONS'],
  allowHeaders: [
    'content-type',
    'authorization',
    'content-encoding',
    'x-request-id',
    'x-retry-count', // analytics.js 2.0 retries
    'anonymousid',
    'sentat', // RudderStack's JavaScript SDK, on every request
    'rsa-retry-attempt',
    'rsa-retry-reason',
    'rsa-since-first-attempt',
    'rsa-since-last-attempt',
    'rsa-recovered', // …and on its retries
  ],
  maxAgeSeconds: 86_400,
} as const;

/**
 * API Gateway stage throttling (the local server applies the same limits and answers 429). 4,000
 * requests/s is 2× the 1,930 events/s peak of the default sizing even when every event is its own
 * request (analytics.js without batching, pixels); the burst stays at API Gateway's regional account
 * burst (5,000), and both stay under its regional 10,000 requests/s (docs/deploy.md#sizing).
 */
export const THROTTLE = { rateLimit: 4000, burstLimit: 5000 } as const;
/**
 * Per-route throttle of every `admin` route (API Gateway route settings; the local server keeps one
 * bucket per admin route too): a runaway script or a leaked credential cannot starve collection,
 * which keeps the stage limits above to itself. docs/security.md.
 */
export const ADMIN_ROUTE_THROTTLE = { rateLimit: 100, burstLimit: 200 } as const;

/**
 * Console roles (docs/security.md#console-roles): one Cognito group each on AWS, and what each may
 * call is decided per admin route in shared/admin/roles.ts. Locally the admin token holder is `admin`.
 */
export const CONSOLE_ROLES = ['admin', 'marketer', 'viewer'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/**
 * The console on AWS (docs/deploy.md#console-on-aws, infra/constructs/console-site.ts): the built
 * single-page app in a private bucket behind CloudFront, sign-in through the stack's Cognito user
 * pool, and the admin routes on a second HTTP API whose JWT authorizer takes the pool's access
 * tokens. CloudFront sends `/v1/*` to that API, so the app calls the admin API on its own origin,
 * as it does locally where `npm start` serves both on one port.
 */
export const CONSOLE = {
  /** The built app, relative to the project root. Without an index.html there, synth deploys a placeholder page. */
  distDir: 'console/dist',
  /** Hashed build output (Vite's `assetsDir`): cached for a year; every other file is revalidated on each load. */
  assetsPrefix: 'assets/',
  /** The app's runtime settings (ConsoleRuntimeConfig), written beside index.html at deploy time. */
  configFile: 'config.json',
  /** Paths CloudFront sends to the console API instead of the bucket: every admin route is under it. */
  apiPathPattern: '/v1/*',
  /** One Cognito group per role. */
  groups: {
    admin: 'Everything: definitions, profiles and unmerge, reports, sources and write keys, erasure and export',
    marketer: 'Definitions (computed traits, segments, journeys, coupon codes), profiles and reports: no keys, no erasure or export',
    viewer: 'Read-only: profiles, definitions, segment members, journey stats, coupon pools',
  } satisfies Record<ConsoleRole, string>,
  /** OAuth resource server and scope every console route requires: only access tokens carry it (an ID token is refused). */
  resourceServer: 'cairn-admin-api',
  scope: 'console',
  /** An access token is good for an hour; a sign-in for a working day (the refresh token). */
  accessTokenMinutes: 60,
  refreshTokenHours: 12,
  passwordMinLength: 14,
  temporaryPasswordDays: 7,
} as const;

/**
 * What the console reads from `/config.json` on AWS (written by the stack at deploy time). Locally
 * there is none: the console signs in with the admin token.
 */
export interface ConsoleRuntimeConfig {
  auth: 'cognito';
  region: string;
  userPoolId: string;
  clientId: string;
  /** The hosted sign-in pages: `https://<prefix>.auth.<region>.amazoncognito.com`. */
  authDomain: string;
  /** Where Cognito sends the user back after signing in and out: the console's own URL. */
  redirectUri: string;
  /** Scopes to ask for: `openid`, `email` and the console scope the admin routes require. */
  scopes: string[];
}

/**
 * The console's Content-Security-Policy (CloudFront's response headers policy on AWS). Scripts,
 * fonts, images and API calls from the console's own origin only, plus `authOrigin` (the Cognito
 * domain's token endpoint) on AWS; no inline script and no eval. Inline styles are allowed: chart and
 * code-editor libraries set them at run time. Never framed (`frame-ancestors 'none'`).
 */
export function consoleCsp(authOrigin?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${authOrigin ? ` ${authOrigin}` : ''}`,
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Environment variable names the handlers read. Set by CDK on AWS and by the local runtime. */
export const ENV = {
  rawStream: 'CAIRN_RAW_STREAM',
  normalizedStream: 'CAIRN_NORMALIZED_STREAM',
  lakeBucket: 'CAIRN_LAKE_BUCKET',
  /** λ compact's part size in MB of gzip JSON input (COMPACTION.targetMb). */
  compactionTargetMb: 'CAIRN_COMPACTION_TARGET_MB',
  sourcesTable: 'CAIRN_SOURCES_TABLE',
  dedupTable: 'CAIRN_DEDUP_TABLE',
  eventBus: 'CAIRN_EVENT_BUS',
  identitiesTable: 'CAIRN_IDENTITIES_TABLE',
  profilesTable: 'CAIRN_PROFILES_TABLE',
  timelineTable: 'CAIRN_TIMELINE_TABLE',
  definitionsTable: 'CAIRN_DEFINITIONS_TABLE',
  journeysTable: 'CAIRN_JOURNEYS_TABLE',
  /** ARN of λ journey: the target of journey rules (set on the functions that manage them). */
  journeyFunction: 'CAIRN_JOURNEY_FUNCTION_ARN',
  /** Role EventBridge Scheduler assumes to invoke λ journey when a wait is over. */
  journeySchedulerRole: 'CAIRN_JOURNEY_SCHEDULER_ROLE_ARN',
  /** Scheduler schedule group of journey waits. */
  journeyScheduleGroup: 'CAIRN_JOURNEY_SCHEDULE_GROUP',
  /** Default sender of journey emails (SES verified identity). */
  emailFrom: 'CAIRN_EMAIL_FROM',
  /** ARN (AWS) or name (local) of the secret holding the HMAC-SHA256 key of journey webhook signatures (SECRETS.webhook). */
  webhookSecretId: 'CAIRN_WEBHOOK_SECRET_ID',
  /** ARN (AWS) or name (local) of the secret holding the suppression hashes' key (SECRETS.suppressionKey). */
  suppressionKeyId: 'CAIRN_SUPPRESSION_KEY_ID',
  /** `true` lets journey webhooks reach private/loopback addresses: set by the local stack only, never on AWS. */
  webhookAllowPrivate: 'CAIRN_WEBHOOK_ALLOW_PRIVATE',
  segmentMembersTable: 'CAIRN_SEGMENT_MEMBERS_TABLE',
  /** Suppression list, erasure requests and their audit records (docs/privacy.md). */
  privacyTable: 'CAIRN_PRIVACY_TABLE',
  /** ARN of λ recheck, the target of recheck schedules. */
  recheckTargetArn: 'CAIRN_RECHECK_TARGET_ARN',
  /** Role EventBridge Scheduler assumes to invoke λ recheck. */
  recheckRoleArn: 'CAIRN_RECHECK_ROLE_ARN',
  /** Days a timeline item is kept after its event time (CDK context `cairn:timelineDays`; TIMELINE.defaultDays). */
  timelineDays: 'CAIRN_TIMELINE_DAYS',
  /** Days tagged files under `imports/` are kept (CDK context `cairn:importDays`; RETENTION.importDays): the "expires by" of an erasure's status (λ admin). */
  importDays: 'CAIRN_IMPORT_DAYS',
  /** Hours the streams keep records (CDK context `cairn:streamRetentionHours`): λ normalize's dedup window, λ admin's erasure reach. */
  streamRetentionHours: 'CAIRN_STREAM_RETENTION_HOURS',
  /** Records per second λ import puts on the raw stream (0: unpaced); the stack sets it from the raw shards (docs/import.md). */
  importRate: 'CAIRN_IMPORT_RATE',
  /** Coupon pools, codes and their issues and redemptions (docs/journeys.md#coupons). */
  couponsTable: 'CAIRN_COUPONS_TABLE',
  /** Athena workgroup of the admin API's lake queries (docs/api.md#lake-queries); unset: they answer 503 lake_unavailable. */
  athenaWorkgroup: 'CAIRN_ATHENA_WORKGROUP',
  /** Glue database of the lake tables (LAKE.glueDatabase, or the stack's name for it). */
  lakeDatabase: 'CAIRN_LAKE_DATABASE',
  /** The SQL the lake's engine speaks: `athena` (default) or `duckdb` (the local twin's Athena, local/athena/). */
  lakeDialect: 'CAIRN_LAKE_DIALECT',
} as const;

/**
 * Timeline retention (docs/deploy.md#timeline-retention): an item expires (DynamoDB TTL `expiresAt`)
 * `days` after its event time. The default covers the longest window a definition may have
 * (MAX_DURATION_MS, 3650 days); a shorter `cairn:timelineDays` makes applying a definition with a
 * longer window fail (`window_exceeds_timeline`, docs/errors.md).
 */
export const TIMELINE = { defaultDays: 3650, minDays: 1 } as const;

/** The timeline retention in days from the environment (default TIMELINE.defaultDays). */
export function timelineDays(): number {
  const raw = process.env[ENV.timelineDays];
  const n = raw === undefined || raw === '' ? TIMELINE.defaultDays : Number(raw);
  return Number.isInteger(n) && n >= TIMELINE.minDays ? n : TIMELINE.defaultDays;
}

/** Journeys on the bus and the scheduler (docs/journeys.md). */
/**
 * Counter items per journey (`stats#<journey>#<n>`, shared/journeys/store.ts), from λ journey's fan-out
 * cap (docs/deploy.md#known-limits-single-hot-items): cap × ≤ 20 invocations/s per concurrent slot (an
 * invocation is ≥ 6 sequential DynamoDB calls, ≈ 50 ms or more) × ≤ 2 counter updates each (transition, then actions)
 * × ≤ 2 WCU per update (a stats item < 2 KB) = 4,000 WCU/s at 50 on one journey; × 2 headroom
 * (hashing, bursts) / 1,000 WCU/s per partition key = 8, rounded up to a power of two. Only ever raise
 * it: the reader sums shards 0..N-1, so lowering it would hide the counts of the shards above.
 */
export function journeyStatsShards(cap: number = FUNCTIONS.journey.reservedConcurrency): number {
  const wcu = cap * 20 * 2 * 2 * 2;
  return 2 ** Math.max(0, Math.ceil(Math.log2(Math.ceil(wcu / 1000))));
}

export const JOURNEYS = {
  /** Every journey rule on the Cairn bus is named `cairn-journey-<id>-<kind>`. */
  rulePrefix: 'cairn-journey-',
  scheduleGroup: 'cairn-journeys',
  /** Counter items per journey: `journeyStatsShards()` (8 at the cap of 50). */
  statsShards: journeyStatsShards(),
  /**
   * A run whose wait ends while its journey is paused is held and re-checked after 1 minute, then
   * after twice as long each time up to 15 minutes (docs/journeys.md#pause-resume-archive): after a
   * resume, held runs go on within 15 minutes, and a long pause costs a held run ≤ 4 invocations an hour.
   */
  holdRecheckMs: 60_000,
  holdRecheckMaxMs: 15 * 60_000,
} as const;

/** Coupons (docs/journeys.md#coupons). */
export const COUPONS = {
  /** The track event that redeems a code (`properties.code`, else `properties.coupon`). */
  redeemEvent: 'Coupon Redeemed',
  /** Codes per load or generate request: one request stays well inside λ admin's 10 s and its 256 KB body. */
  maxCodesPerRequest: 1000,
  /** A pool is low when at most this share of its codes remains, unless the pool sets `lowAt`. */
  lowPercent: 10,
  /** How long a load holds its pool (a crashed load's lease runs out; λ admin's timeout is far shorter). */
  loadLeaseMs: 60_000,
} as const;

/**
 * Local values of the ENV variables that name no table, stream, bucket or bus (the local stack sets
 * them; on AWS the CDK does). Keys not listed get no local value.
 */
export function localEnvDefaults(region: string): Partial<Record<keyof typeof ENV, string>> {
  return {
    journeyFunction: `arn:aws:lambda:${region}:000000000000:function:cairn-journey`,
    journeySchedulerRole: 'arn:aws:iam::000000000000:role/cairn-journey-scheduler',
    journeyScheduleGroup: JOURNEYS.scheduleGroup,
    emailFrom: 'cairn@localhost',
    webhookSecretId: SECRETS.webhook.name,
    suppressionKeyId: SECRETS.suppressionKey.name,
    webhookAllowPrivate: 'true',
    recheckTargetArn: `arn:aws:lambda:${region}:000000000000:function:cairn-recheck`,
    recheckRoleArn: 'arn:aws:iam::000000000000:role/cairn-recheck-scheduler',
    timelineDays: process.env[ENV.timelineDays] || String(TIMELINE.defaultDays),
    importDays: process.env[ENV.importDays] || String(RETENTION.importDays),
    compactionTargetMb: process.env[ENV.compactionTargetMb] || String(COMPACTION.targetMb),
    // The dedup window and erasure reach of the declared retention (the local streams are created without one).
    streamRetentionHours: String(STREAMS.raw.retentionHours),
    // The local twin's Athena (local/athena/) answers in DuckDB's SQL over the local lake.
    athenaWorkgroup: LOCAL_ATHENA.workgroup,
    lakeDatabase: LAKE.glueDatabase,
    lakeDialect: 'duckdb',
    // Half of what the local raw stream's shards take (IMPORT_RATE, shared/import/s3.ts).
    importRate: process.env[ENV.importRate] || String(STREAMS.raw.shards * 500),
  };
}
