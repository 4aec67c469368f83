/**
 * One source of truth for Cairn's resources and their settings. The CDK stack (infra/) and the
 * local runtime (local/) both read these definitions, so a name, a key schema or an event-source
 * mapping setting can never differ between the two homes.
 */

export interface StreamDef { id: string; name: string; shards: number; retentionHours: number }
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
/** What a function may touch: the CDK grants exactly this (least privilege) and nothing else. */
export interface FunctionAccess {
  tables?: Partial<Record<keyof typeof TABLES, 'read' | 'write' | 'readWrite'>>;
  streams?: Partial<Record<keyof typeof STREAMS, 'read' | 'write'>>;
  /** Lake bucket access, optionally limited to key prefixes. */
  lake?: { access: 'read' | 'write' | 'readWrite'; prefixes?: string[] };
  /** PutEvents on the Cairn bus. */
  bus?: boolean;
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

export const STREAMS = {
  raw: { id: 'RawStream', name: 'cairn-raw', shards: 2, retentionHours: 24 },
  normalized: { id: 'NormalizedStream', name: 'cairn-normalized', shards: 2, retentionHours: 24 },
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
  /** Per-profile event timeline: pk `profileId`, sk `<timestamp>#<messageId>`. */
  timeline: { id: 'TimelineTable', name: 'cairn-timeline', partitionKey: 'profileId', sortKey: 'sk' },
  /** Applied computed traits, segments and journeys: pk `<kind>#<id>` (shared/definitions/store.ts). */
  definitions: { id: 'DefinitionsTable', name: 'cairn-definitions', partitionKey: 'pk' },
} as const satisfies Record<string, TableDef>;

export const LAKE = {
  bucketPrefix: 'cairn-lake',
  /** Local bucket name; on AWS the bucket name is generated and passed in LAKE_BUCKET. */
  localBucket: 'cairn-lake',
  eventsPrefix: 'events/',
  quarantinePrefix: 'quarantine/',
  profilesPrefix: 'profiles/',
  failedPrefix: 'failed/',
  glueDatabase: 'cairn',
} as const;

export const BUS = { name: 'cairn', source: 'cairn' } as const;

/** Duplicate messageIds are dropped for at least this long (contract §3: at least 24 h). */
export const DEDUP_WINDOW_SECONDS = 48 * 3600;

const streamSource = (stream: keyof typeof STREAMS): KinesisSourceDef => ({
  stream,
  batchSize: 500,
  maxBatchingWindowMs: 1000, // Lambda's window is whole seconds: keep both homes alike
  retryAttempts: 5,
  maxRecordAgeSeconds: 24 * 3600,
  bisectOnError: true,
  parallelization: 1,
});

export const FUNCTIONS = {
  collect: {
    id: 'Collect',
    entry: 'functions/collect/index.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    env: ['rawStream', 'sourcesTable'],
    access: { tables: { sources: 'read' }, streams: { raw: 'write' } },
  },
  normalize: {
    id: 'Normalize',
    entry: 'functions/normalize/index.ts',
    memoryMb: 1024,
    timeoutSeconds: 60,
    kinesis: streamSource('raw'),
    env: ['normalizedStream', 'lakeBucket', 'dedupTable'],
    access: {
      tables: { dedup: 'readWrite' },
      streams: { raw: 'read', normalized: 'write' },
      lake: { access: 'readWrite', prefixes: ['events/', 'quarantine/'] },
    },
  },
  resolve: {
    id: 'Resolve',
    entry: 'functions/resolve/index.ts',
    memoryMb: 1024,
    timeoutSeconds: 120,
    kinesis: { ...streamSource('normalized'), parallelization: 1 },
    env: ['identitiesTable', 'profilesTable', 'timelineTable', 'lakeBucket', 'eventBus'],
    access: {
      tables: { identities: 'readWrite', profiles: 'readWrite', timeline: 'readWrite' },
      streams: { normalized: 'read' },
      lake: { access: 'write', prefixes: ['profiles/', 'quarantine/'] },
      bus: true,
    },
  },
  admin: {
    id: 'Admin',
    entry: 'functions/admin/index.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    env: ['identitiesTable', 'profilesTable', 'timelineTable'],
    access: { tables: { identities: 'read', profiles: 'read', timeline: 'read' } },
  },
} as const satisfies Record<string, FunctionDef>;

/**
 * HTTP routes. API Gateway (HTTP API) on AWS and the local HTTP server both route from this list.
 * `auth`: `writeKey` routes check the write key in the handler; `admin` routes use IAM on AWS and
 * the bearer token locally.
 */
export interface RouteDef { method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS' | 'ANY'; path: string; fn: keyof typeof FUNCTIONS; auth: 'writeKey' | 'admin' }
export const COLLECT_PATHS = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import'] as const;
export const ROUTES: RouteDef[] = [
  ...COLLECT_PATHS.map((p): RouteDef => ({ method: 'POST', path: `/v1/${p}`, fn: 'collect', auth: 'writeKey' })),
  { method: 'GET', path: '/v1/profiles/{identifier}', fn: 'admin', auth: 'admin' },
  { method: 'GET', path: '/v1/profiles/{identifier}/events', fn: 'admin', auth: 'admin' },
];

/** API Gateway stage throttling (the local server applies the same limits and answers 429). */
export const THROTTLE = { rateLimit: 2000, burstLimit: 5000 } as const;

/** Environment variable names the handlers read. Set by CDK on AWS and by the local runtime. */
export const ENV = {
  rawStream: 'CAIRN_RAW_STREAM',
  normalizedStream: 'CAIRN_NORMALIZED_STREAM',
  lakeBucket: 'CAIRN_LAKE_BUCKET',
  sourcesTable: 'CAIRN_SOURCES_TABLE',
  dedupTable: 'CAIRN_DEDUP_TABLE',
  eventBus: 'CAIRN_EVENT_BUS',
  identitiesTable: 'CAIRN_IDENTITIES_TABLE',
  profilesTable: 'CAIRN_PROFILES_TABLE',
  timelineTable: 'CAIRN_TIMELINE_TABLE',
  definitionsTable: 'CAIRN_DEFINITIONS_TABLE',
} as const;

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}
