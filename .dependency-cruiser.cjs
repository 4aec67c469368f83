/**
 * The house rules of Cairn's code (docs/architecture.md), checked by tests/unit/architecture.test.ts
 * on every `npm test`; by hand: `npx depcruise shared functions local cli infra bench bin tests`.
 *
 * Rooms of shared/, bottom first: a room imports only rooms in layers below its own (its own files
 * it imports freely). Rooms side by side in one layer do not import each other. Above shared/ sit
 * functions/ (the λ entry points), then local/ (the local twin), cli/, infra/ (the CDK app), bench/;
 * console/ (the browser app) sits on shared/ alone.
 */
const LAYERS = [
  ['(root)'], // shared/*.ts: errors, log, metrics, random, lang, deflated — no room of their own
  ['config'],
  ['lambda'], // the house middy chain every λ is built with: its middleware and the API error mapping
  ['aws'],
  ['message'],
  ['lake', 'eventbridge', 'demo'],
  ['collect'],
  ['definitions'],
  ['http'],
  ['identity'],
  ['suppression'],
  ['normalize'],
  ['profiles'],
  ['segments'],
  ['resolve'],
  ['coupons'], // coupon pools: issued by journeys' coupon steps, loaded through the admin API
  ['journeys'],
  ['scores'],
  ['privacy'],
  ['import', 'reports'], // reports: the lake reports and queries the CLI and the admin API run
  ['admin'],
];

/** Rooms with an index.ts: callers outside the room import the index, never a file inside. */
const INDEXED = [
  'admin',
  'collect',
  'config',
  'coupons',
  'definitions',
  'demo',
  'eventbridge',
  'http',
  'identity',
  'import',
  'journeys',
  'lake',
  'lambda',
  'message',
  'normalize',
  'privacy',
  'profiles',
  'reports',
  'resolve',
  'scores',
  'segments',
  'suppression',
];

/**
 * Files that may import the AWS SDK (@aws-sdk/*, @smithy/*) besides shared/aws/ and the rooms'
 * dynamo-*.ts / s3-*.ts stores: each is one room's adapter to one AWS service, under another name.
 */
const ADAPTERS = [
  'shared/collect/sources.ts', // sources table: write keys
  'shared/definitions/store.ts', // definitions table
  'shared/identity/bus.ts', // EventBridge publisher of profile events
  'shared/import/s3.ts', // files dropped under imports/ in the lake bucket
  'shared/journeys/actions/email.ts', // SES
  'shared/journeys/actions/sms.ts', // SNS
  'shared/journeys/rules.ts', // EventBridge rules compiled from journeys
  'shared/journeys/schedule.ts', // EventBridge Scheduler (journey waits)
  'shared/journeys/store.ts', // journeys table
  'shared/journeys/stream-steps.ts', // Kinesis (journey_steps rows on the raw stream, through shared/message/stream.ts)
  'shared/message/stream.ts', // Kinesis PutRecords
  'shared/message/kinesis-event.ts', // Kinesis GetRecords into a Lambda event (replay)
  'shared/normalize/dedup.ts', // dedup markers (DynamoDB) and lake object heads (S3)
  'shared/privacy/schedules.ts', // EventBridge Scheduler (erased people's journey waits)
  'shared/reports/athena.ts', // Athena (the admin API's lake queries)
  'shared/segments/members.ts', // segment members table
  'shared/segments/schedule.ts', // EventBridge Scheduler (recheck)
  'shared/suppression/index.ts', // suppression list in the privacy table
];

/**
 * Domain files that still call the SDK themselves, mixed with their logic. Every one has been split
 * into logic plus an adapter: the list is empty and stays so (a new SDK call goes in an adapter).
 */
const SDK_EXCEPTIONS = [];

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const ADAPTER_PATHS = ['^shared/aws/', '^shared/.+/(dynamo|s3)-[^/]+\\.ts$', ...ADAPTERS.map((f) => `^${esc(f)}$`)];
const roomPath = (room) => (room === '(root)' ? '^shared/[^/]+\\.ts$' : `^shared/${room}/`);
const anyOf = (paths) => paths.map((p) => `(?:${p})`).join('|');

const layering = LAYERS.flatMap((layer, i) =>
  layer.flatMap((room) => {
    const notBelow = LAYERS.slice(i)
      .flat()
      .filter((r) => r !== room);
    if (!notBelow.length) return []; // the top room may import every room below it
    return {
      name: `layer-${room === '(root)' ? 'root' : room}`,
      comment: `shared/${room === '(root)' ? '*.ts' : room} imports only rooms below it: not ${notBelow.join(', ')} (docs/architecture.md)`,
      severity: 'error',
      from: { path: roomPath(room) },
      to: { path: anyOf(notBelow.map(roomPath)) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No file imports itself through others (type-only imports count too).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layering,
    {
      name: 'shared-stays-inside',
      comment: 'shared/ is the domain: it never imports the entry points, the local twin, the CLI, the CDK app, benchmarks or tests.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(functions|local|cli|infra|bench|tests|bin|console)/' },
    },
    {
      name: 'console-over-shared-only',
      comment:
        'The console runs in a browser: it shares the grammar and types of shared/ and talks to the admin API, never to the entry points, the local twin, the CLI or the SDK.',
      severity: 'error',
      from: { path: '^console/' },
      to: { path: '^(functions|local|cli|infra|bench|tests|bin)/|(^|/)node_modules/@(aws-sdk|smithy)/|^@(aws-sdk|smithy)/' },
    },
    {
      name: 'functions-over-shared-only',
      comment: 'A λ entry point builds on shared/ only (the same code runs on AWS and locally).',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^(local|cli|infra|bench|tests|bin)/' },
    },
    {
      name: 'local-not-above-itself',
      comment: 'The local twin runs functions/ and shared/; the CLI and benchmarks use it, not the reverse.',
      severity: 'error',
      from: { path: '^local/' },
      to: { path: '^(cli|infra|bench|tests|bin)/' },
    },
    {
      name: 'infra-not-runtime',
      comment: 'The CDK app reads the declarations in shared/ only; it never runs the local twin or the CLI.',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: '^(local|cli|bench|tests)/' },
    },
    {
      name: 'cli-not-infra',
      comment: 'The CLI talks to a stack; it does not import the CDK app, benchmarks or tests.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^(infra|bench|tests)/' },
    },
    {
      name: 'aws-sdk-in-adapters',
      comment: 'The AWS SDK is imported only by shared/aws/ and adapters (dynamo-*.ts, s3-*.ts, ADAPTERS); the domain takes ports.',
      severity: 'error',
      from: {
        path: '^(shared|functions)/',
        pathNot: anyOf([...ADAPTER_PATHS, ...SDK_EXCEPTIONS.map((f) => `^${esc(f)}$`)]),
      },
      // Installed (node_modules/…) or not (the bare name, as an unresolved import reports it).
      to: { path: '(^|/)node_modules/@(aws-sdk|smithy)/|^@(aws-sdk|smithy)/' },
    },
    ...INDEXED.map((room) => ({
      name: `index-${room}`,
      comment: `Outside shared/${room}, import its index (shared/${room}/index.ts), not a file inside.`,
      severity: 'error',
      from: { path: '^(shared|functions|local|cli|infra|bench|bin|console)/', pathNot: `^shared/${room}/` },
      // A room's adapter is its second door: through the index every caller of the pure core would load the SDK.
      to: { path: `^shared/${room}/`, pathNot: anyOf([`^shared/${room}/index\\.ts$`, ...ADAPTER_PATHS]) },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|cdk\\.out|\\.cairn|tests/fixtures|console/dist)/' },
    // Type-only imports are real arrows between rooms (bench/run.ts and its benchmarks were a cycle of types).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.json'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
