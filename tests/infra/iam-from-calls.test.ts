/**
 * IAM from real calls (issue 12; docs/security.md#least-privilege-checked-against-real-calls).
 * A representative scenario runs on the local stack with every AWS call recorded per function
 * (CAIRN_RECORD_CALLS, shared/aws/clients.ts): collect → normalize → resolve → journeys (email,
 * SMS, webhook, traits, waits, a wait cancelled by the exit event) → admin API routes (definitions
 * with their journey rules, profiles, export, members, stats, sources and keys, erasure, a segment
 * put and deleted with its sweeps; lake queries on the local Athena, one cancelled, a journey
 * simulation, quarantine replay) → file imports (one long enough to continue from a checkpoint) →
 * λ recheck's per-profile run when a 45-second window slides → and, four days later on the
 * scheduler's clock, snapshot, scores (changing segment membership), recheck and erase — plus paths
 * a plain run does not take (a redelivered message, invalid records on the raw and the normalized
 * stream, an erased person's late messages, a JSON Lines drop with a bad line, recheck schedules
 * moved and cancelled by λ resolve, λ recheck and λ scores). Each state the scenario needs is waited
 * for, and a state not reached fails the run. Each call is mapped to its IAM action and ARN and
 * checked against the function's role in the synthesised template, both ways, both enforced: every
 * call is allowed, and every grant is used by a recorded call or by AWS itself (ALLOWED_UNUSED, each
 * with its reason) — each role holds exactly what its code calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { AthenaClient, GetQueryExecutionCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { PutRuleCommand } from '@aws-sdk/client-eventbridge';
import { emulatorConfig } from '#shared/aws/emulators';
import { eventBridge, kinesis, RECORD_CALLS_VAR, s3, type RecordedCall } from '#shared/aws/clients';
import { BUS, FUNCTIONS, JOURNEYS, LAKE, LOCAL_ATHENA, STREAMS } from '#shared/config/resources';
import { journeysTableFromEnv } from '#functions/env';
import { DynamoJourneyStore } from '#shared/journeys/store';
import { StreamJourneyStepLog } from '#shared/journeys/stream-steps';
import { outcomeRow } from '#shared/journeys';
import type { LocalFunctionDef } from '#local/lambda';
import { parse as parseYaml } from 'yaml';
import { startLocalStack, localEnv, type LocalStack } from '#local/stack';
import { service as eventsService } from '#local/eventbridge/service';
import { services as outboxServices } from '#local/outbox/service';
import { service as secretsService } from '#local/secretsmanager/service';
import { service as athenaService } from '#local/athena/service';
import { clockedScheduler } from '../support/scheduler';
import { synthCairn } from './synth';
import {
  actionMatch,
  allowedBy,
  athenaNeeds,
  glueTables,
  grantsOf,
  iamMatch,
  kmsNeeds,
  needsOf,
  TemplateNames,
  type AthenaExecution,
  type Grant,
  type Need,
} from './iam-calls';

/**
 * Grants no recorded call uses, and why they stay. `fns`: the functions it applies to.
 * Everything here is used by AWS itself with the function's role, never by handler code — except
 * normalize's s3:ListBucket, a code path that needs a failure between two writes (its reason says).
 */
const STREAM_CONSUMERS = Object.entries(FUNCTIONS)
  .filter(([, d]) => 'kinesis' in d)
  .map(([k]) => k);
export const ALLOWED_UNUSED: { fns: string[] | '*'; action: string; resource?: RegExp; reason: string }[] = [
  { fns: '*', action: 'logs:CreateLogStream', reason: "The Lambda runtime writes the function's logs to its log group." },
  { fns: '*', action: 'logs:PutLogEvents', reason: "The Lambda runtime writes the function's logs to its log group." },
  { fns: '*', action: 'xray:PutTraceSegments', reason: 'Active X-Ray tracing: the Lambda service sends the segments.' },
  { fns: '*', action: 'xray:PutTelemetryRecords', reason: 'Active X-Ray tracing: the Lambda service sends the telemetry.' },
  ...[
    'kinesis:DescribeStream',
    'kinesis:DescribeStreamSummary',
    'kinesis:GetRecords',
    'kinesis:GetShardIterator',
    'kinesis:ListShards',
    'kinesis:ListStreams',
  ].map((action) => ({
    fns: STREAM_CONSUMERS,
    action,
    resource: /:stream\//,
    reason: "The Kinesis event-source mapping (the Lambda service, locally local/poller.ts with its own clients) reads the stream with the function's role.",
  })),
  // Listed before the mappings' entry so it is the one that covers normalize's grant: the overlap is stated, not silent.
  {
    fns: ['normalize'],
    action: 's3:ListBucket',
    resource: /^arn:aws:s3:::[^/]+$/,
    reason:
      "Its own grant (lake.list): after a batch wrote its dedup markers but failed before its lake object was written, the retry's " +
      'HeadObject of that object must answer 404 (not there, write it), which S3 gives only to a caller allowed to list the bucket. ' +
      'That crash path needs a failure between two writes of one batch, which the scenario cannot inject; the same grant also ' +
      'serves the on-failure destination (next entries).',
  },
  {
    fns: STREAM_CONSUMERS,
    action: 's3:PutObject',
    resource: /\/aws\/lambda\/\*$/,
    reason: 'On-failure destination of the event-source mapping: Lambda writes failed-batch records under aws/lambda/.',
  },
  {
    fns: STREAM_CONSUMERS,
    action: 's3:ListBucket',
    resource: /^arn:aws:s3:::[^/]+$/,
    reason: "On-failure destination of the event-source mapping: Lambda checks the bucket with the function's role.",
  },
  {
    fns: ['erase'],
    action: 's3:PutObject',
    resource: /\/journey_steps\/\*$/,
    reason:
      "Its own grant (lake.write, the prefixes its pass rewrites): an object holding the person's rows and others' is rewritten without " +
      "them. The journey_steps objects are λ normalize's batches of many people's step rows, but the scenario's erasures never meet " +
      "one holding an erased person's rows beside others' (this entry would be reported stale if they did); the grant keeps the pass whole.",
  },
  { fns: ['journey'], action: 'sqs:SendMessage', reason: 'On-failure destination of asynchronous invocations: Lambda sends the failed event to the queue.' },
  ...['s3:ListBucketVersions', 's3:DeleteObjectVersion'].map((action) => ({
    fns: ['erase'],
    action,
    reason:
      'λ erase removes the noncurrent versions of an object it rewrote only when S3 answered its read with a version id (a versioned bucket: ' +
      'the lake on AWS). The local S3 (s3rver) has no versioning, so the scenario cannot reach these calls; tests/unit/privacy-versions.test.ts ' +
      'runs them against a model of a versioned bucket.',
  })),
  {
    fns: ['erase'],
    action: 's3:DeleteObject',
    resource: /\/parquet\/events\/\*$/,
    reason:
      "λ erase deletes a compacted Parquet part only when every row in it is an erased person's (else it rewrites it, which the scenario does); " +
      "a day's part holds everyone's rows of that day, so the scenario cannot leave one with only the erased person's. The same deletion of an " +
      'events/ object is recorded; tests/unit/privacy.test.ts covers the choice between rewrite and delete.',
  },
  {
    fns: ['journey'],
    action: 'ses:SendEmail',
    resource: /:identity\/[^@]+$/,
    reason:
      "SES authorizes a send against the verified identity it uses: the sender's domain identity when only the domain is verified (the call names the address).",
  },
];

const DAY = 86_400_000;
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const BASIC = `Basic ${Buffer.from('dev-write-key:').toString('base64')}`;
const EXAMPLES = join(__dirname, '..', '..', 'examples');

let stack: LocalStack;
let clockOffset = 0;
let invokeFn: ((fn: string, event: unknown) => Promise<unknown>) | undefined;
let hook: Server;
let hookUrl = '';
let hooks = 0;
const recordFile = join(mkdtempSync(join(tmpdir(), 'cairn-iam-calls-')), 'calls.jsonl');

const clocked = clockedScheduler(() => Date.now() + clockOffset, { tickMs: 100, retry: { baseDelayMs: 50 }, onStart: (ctx) => void (invokeFn = ctx.invoke) });
const schedulerService = clocked.service;

async function api(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { ...ADMIN, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as any) : undefined };
}
async function collect(batch: Record<string, unknown>[]) {
  const res = await fetch(`${stack.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: BASIC },
    body: JSON.stringify({ batch }),
  });
  expect(res.status).toBe(200);
}
/** Waits for a state the scenario needs; a state never reached fails the run instead of passing silently. */
async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`scenario: ${what} not reached within ${ms} ms (last: ${JSON.stringify(v)?.slice(0, 200)})`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
const outbox = async (): Promise<{ to: string[]; channel: string }[]> => (await api('GET', '/v1/outbox?limit=1000')).json.messages;
const person = async (userId: string): Promise<{ profileId: string; segments: string[]; computed: Record<string, unknown> } | undefined> => {
  const r = await api('GET', `/v1/profiles/user_id:${userId}`);
  return r.status === 200 ? r.json : undefined;
};
const segmentsOf = async (userId: string) => (await person(userId))?.segments ?? [];
/** The `at(…)` expression of a profile's recheck schedule in the local scheduler, or null when it has none. */
async function recheckOf(profileId: string): Promise<string | null> {
  const list = (await (await fetch(`${clocked.scheduler.endpoint}/schedules?ScheduleGroup=default&NamePrefix=cairn-recheck-`)).json()) as {
    Schedules: { Name: string }[];
  };
  const s = list.Schedules.find((x) => x.Name.endsWith(`-${profileId}`));
  if (!s) return null;
  const res = await fetch(`${clocked.scheduler.endpoint}/schedules/${encodeURIComponent(s.Name)}?groupName=default`);
  return res.status === 200 ? ((await res.json()) as { ScheduleExpression: string }).ScheduleExpression : null;
}
/** Whether a journey wait schedule exists. */
const waitExists = async (name: string) =>
  (await fetch(`${clocked.scheduler.endpoint}/schedules/${encodeURIComponent(name)}?groupName=${JOURNEYS.scheduleGroup}`)).status === 200;

let calls: RecordedCall[] = [];
/** Athena executions λ admin's calls name; those the scenario itself started (its long query) are not λ admin's to pay for. */
const executions = new Map<string, AthenaExecution>();
const scenarioQueries = new Set<string>();
const scenarioAthena = () => new AthenaClient(emulatorConfig('athena', stack.endpoints.athena!));

beforeAll(async () => {
  process.env[RECORD_CALLS_VAR] = recordFile;
  process.env.CAIRN_LOG_LEVEL = 'error';
  // Containers re-read the suppression list this often (default 15 s), so the drops below happen within the run.
  process.env.CAIRN_SUPPRESSION_REFRESH_MS = '200';
  hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hooks++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/vip`;
  // λ import with a 90 s timeout here (900 s on AWS): it writes a checkpoint once under 90 s of its
  // invocation remain (IMPORT_CHECKPOINT_MARGIN_MS), so a file longer than one chunk continues from one.
  const functions = { ...(FUNCTIONS as unknown as Record<string, LocalFunctionDef>), import: { ...FUNCTIONS.import, timeoutSeconds: 90 } };
  stack = await startLocalStack({
    port: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'cairn-iam-')),
    functions,
    services: [eventsService, schedulerService, ...outboxServices, secretsService, athenaService],
  });

  // A rule matching every Cairn event (a user's subscriber, no target): the publishers put only what
  // some rule matches (docs/eventbridge.md), and every function's PutEvents must be exercised here.
  await eventBridge().send(new PutRuleCommand({ Name: 'iam-all-cairn', EventBusName: BUS.name, EventPattern: JSON.stringify({ source: [BUS.source] }) }));

  // Definitions through the admin API (λ admin: definitions, journey rules, segment sweeps).
  const area = { computedTrait: 'computed-traits', segment: 'segments', journey: 'journeys' } as const;
  // welcome-coupon without its holdout, so alice surely gets her code.
  for (const f of ['computed-traits.yaml', 'segments.yaml', 'journeys.yaml', 'coupons.yaml']) {
    const text = readFileSync(join(EXAMPLES, f), 'utf8')
      .replace(/\$\{CAIRN_CRM_WEBHOOK_URL:-[^}]*\}/g, hookUrl)
      .replace('holdout: 10%', 'holdout: 0%');
    for (const def of parseYaml(text) as { kind: keyof typeof area; id: string }[]) {
      const r = await api('PUT', `/v1/${area[def.kind]}/${def.id}`, def);
      expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
    }
  }
  // Coupon pools through the admin API (λ admin: a load's lease, code items and slots, its commit; the status).
  const codes = readFileSync(join(EXAMPLES, 'coupon-codes.csv'), 'utf8')
    .split(/\r?\n/)
    .slice(1)
    .filter(Boolean)
    .map((l) => l.split(',')[0]);
  expect((await api('POST', '/v1/coupons/welcome/codes', { codes })).json).toMatchObject({ loaded: codes.length, refused: [] });
  expect((await api('POST', '/v1/coupons/welcome/generate', { count: 2 })).json.codes).toHaveLength(2);
  expect((await api('GET', '/v1/coupons/welcome')).json).toMatchObject({ codes: codes.length + 2, issued: 0 });
  // Segments whose membership changes on the paths below (each names who drives it and why).
  const iamSegments = {
    // λ recheck's per-profile run: jack's Wave leaves the window 45 s later (real time: functions run on
    // the real clock); his schedule fires and λ recheck writes the exit (profile, members, segment.exited).
    'iam-wave': { event: 'Wave', within: '45s' },
    // λ resolve moving a recheck schedule (ivan visits again a day later) and cancelling one (lena's Stop
    // leaves her membership nothing that can change by itself).
    'iam-visitor': { all: [{ event: 'Visit', within: '10d' }, { not: { event: 'Stop' } }] },
    // λ scores' segment effects: the lifecycle stage it writes takes gina and hana out of iam-unscored
    // (hana's recheck cancelled) and puts gina in iam-scored (her recheck moved to its longer window).
    'iam-unscored': { all: [{ event: 'Ping', within: '10d' }, { not: { computed: 'lifecycle_stage', exists: true } }] },
    'iam-scored': {
      all: [
        { computed: 'lifecycle_stage', exists: true },
        { event: 'Ping', within: '20d', where: { 'properties.keep': true } },
      ],
    },
  };
  for (const [id, where] of Object.entries(iamSegments)) {
    const r = await api('PUT', `/v1/segments/${id}`, { kind: 'segment', id, where });
    expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
  }

  // Events: a big first order at SH-001 (coupon email, 3-day wait, SMS), a high-value customer
  // (vip-welcome: email, traits, webhook), regulars (SMS), a group call, an alias.
  const now = Date.now();
  const at = (ms: number) => new Date(now - ms).toISOString();
  const consent = { email: true, sms: true };
  await collect([
    {
      type: 'identify',
      userId: 'alice',
      traits: { firstName: 'Alice', email: 'alice@example.com', phone: '+33612345678' },
      context: { consent },
      messageId: 'i-alice',
      timestamp: at(60_000),
    },
    {
      type: 'identify',
      userId: 'dave',
      traits: { firstName: 'Dave', email: 'dave@example.com', phone: '+33611111111' },
      context: { consent },
      messageId: 'i-dave',
      timestamp: at(60_000),
    },
    { type: 'group', userId: 'dave', groupId: 'acme', traits: { name: 'Acme' }, messageId: 'g-dave', timestamp: at(50_000) },
    { type: 'alias', userId: 'dave', previousId: 'anon-dave', messageId: 'a-dave', timestamp: at(50_000) },
    { type: 'page', anonymousId: 'anon-dave', name: 'Home', messageId: 'p-dave', timestamp: at(40_000) },
    {
      type: 'identify',
      userId: 'erin',
      traits: { firstName: 'Erin', email: 'erin@example.com' },
      context: { consent },
      messageId: 'i-erin',
      timestamp: at(60_000),
    },
    { type: 'track', userId: 'ivan', event: 'Visit', messageId: 'v-ivan1', timestamp: at(2 * DAY) },
    { type: 'track', userId: 'lena', event: 'Visit', messageId: 'v-lena1', timestamp: at(DAY) },
    { type: 'track', userId: 'gina', event: 'Ping', properties: { keep: true }, messageId: 'p-gina', timestamp: at(1_000) },
    { type: 'track', userId: 'hana', event: 'Ping', properties: { keep: false }, messageId: 'p-hana', timestamp: at(1_000) },
  ]);
  expect(await stack.drain(30_000)).toBe(true);
  // Recheck schedules created by λ resolve for the windows of the iam-* segments.
  const pid: Record<string, string> = {};
  for (const u of ['ivan', 'lena', 'gina', 'hana']) {
    const p = await until(
      `${u} in a windowed segment with a recheck schedule`,
      async () => {
        const x = await person(u);
        return { x, r: x ? await recheckOf(x.profileId) : null };
      },
      (v) => !!v.x && v.x.segments.some((g) => g.startsWith('iam-')) && v.r !== null,
    );
    pid[u] = p.x!.profileId;
  }
  const ivanFirst = (await recheckOf(pid.ivan!))!;
  await collect([
    {
      type: 'track',
      userId: 'alice',
      event: 'Order Completed',
      properties: { store_id: 'SH-001', total: 600, order_id: 'A-1' },
      messageId: 'o-a1',
      timestamp: at(30_000),
    },
    {
      type: 'track',
      userId: 'dave',
      event: 'Order Completed',
      properties: { store_id: 'SH-001', total: 900, order_id: 'D-1' },
      messageId: 'o-d1',
      timestamp: at(20_000),
    },
    {
      type: 'track',
      userId: 'dave',
      event: 'Order Completed',
      properties: { store_id: 'SH-001', total: 400, order_id: 'D-2' },
      messageId: 'o-d2',
      timestamp: at(10_000),
    },
    {
      type: 'track',
      userId: 'dave',
      event: 'Order Completed',
      properties: { store_id: 'SH-001', total: 400, order_id: 'D-2' },
      messageId: 'o-d2',
      timestamp: at(10_000),
    }, // duplicate
    // Erin's first order (now: her run starts at its timestamp; the exit below must come after).
    {
      type: 'track',
      userId: 'erin',
      event: 'Order Completed',
      properties: { store_id: 'SH-001', total: 600, order_id: 'E-1' },
      messageId: 'o-e1',
      timestamp: new Date().toISOString(),
    },
    { type: 'track', userId: 'jack', event: 'Wave', messageId: 'w-jack', timestamp: new Date().toISOString() },
    // A day after ivan's first visit (his window change moves) and lena's Stop (hers goes).
    { type: 'track', userId: 'ivan', event: 'Visit', messageId: 'v-ivan2', timestamp: at(DAY) },
    { type: 'track', userId: 'lena', event: 'Stop', messageId: 's-lena', timestamp: at(1_000) },
  ]);
  expect(await stack.drain(30_000)).toBe(true);
  // jack is in iam-wave until 45 s after his Wave (λ recheck takes him out, below).
  pid.jack = (await until(
    'jack in iam-wave',
    () => person('jack'),
    (x) => !!x?.segments.includes('iam-wave'),
  ))!.profileId;
  const ivanVisits = await until(
    "λ resolve moved ivan's recheck and cancelled lena's",
    async () => ({ ivan: await recheckOf(pid.ivan!), lena: await recheckOf(pid.lena!), segs: await segmentsOf('lena') }),
    (v) => v.ivan !== null && v.ivan !== ivanFirst && v.lena === null && !v.segs.includes('iam-visitor'),
  );
  // A message redelivered in a later batch, ahead of a new one in the same request (one record each,
  // one partition key: one batch): λ normalize's claim of the first finds its marker, so it reads it
  // and checks the lake object it names; the new one's claim named the batch's first record, so its
  // marker is written again with the object the batch writes.
  await collect([
    {
      type: 'track',
      userId: 'alice',
      event: 'Order Completed',
      properties: { store_id: 'SH-001', total: 600, order_id: 'A-1' },
      messageId: 'o-a1',
      timestamp: at(30_000),
    },
    { type: 'track', userId: 'alice', event: 'Receipt Viewed', properties: { order_id: 'A-1' }, messageId: 'rv-a1', timestamp: at(30_000) },
  ]);
  expect(await stack.drain(30_000)).toBe(true);
  // A journey transition's step rows sent twice (λ journey retried after its first put landed): the
  // second claim finds the marker, so λ normalize heads the journey_steps/ object it names.
  const stepRow = outcomeRow('iam-j', pid.gina!, {
    type: 'outcome',
    runId: 'iam-run',
    version: 1,
    at: Date.parse(at(31_000)),
    stepId: null,
    action: 'run',
    outcome: 'entered',
  });
  const steps = new StreamJourneyStepLog(STREAMS.raw.name, 50);
  for (let i = 0; i < 2; i++) {
    await steps.put(`${pid.gina}.iam-j.0`, pid.gina!, Date.parse(at(31_000)), [stepRow]);
    expect(await stack.drain(30_000)).toBe(true);
  }
  // Records on the raw stream that are not valid messages (any producer may write there): λ normalize
  // quarantines them. One object holds dave's and alice's, one only dave's: the erasure rewrites the
  // first and deletes the second.
  const raw = (messages: Record<string, unknown>[]) =>
    kinesis().send(
      new PutRecordsCommand({
        StreamName: STREAMS.raw.name,
        Records: messages.map((message) => ({
          PartitionKey: 'bad',
          Data: Buffer.from(JSON.stringify({ message, sourceId: 'default', receivedAt: new Date().toISOString() })),
        })),
      }),
    );
  await raw([
    { type: 'track', userId: 'dave', messageId: 'bad-d1', timestamp: at(5_000) },
    { type: 'track', userId: 'alice', messageId: 'bad-a1', timestamp: at(5_000) },
  ]);
  expect(await stack.drain(30_000)).toBe(true);
  await raw([{ type: 'track', userId: 'dave', messageId: 'bad-d2', timestamp: at(5_000) }]);
  expect(await stack.drain(30_000)).toBe(true);
  // A record on the normalized stream that is not a normalized message (no messageId): λ resolve
  // quarantines it (shared/resolve/handler.ts, `<shard>-malformed` objects).
  await kinesis().send(
    new PutRecordsCommand({
      StreamName: STREAMS.normalized.name,
      Records: [{ PartitionKey: 'bad', Data: Buffer.from(JSON.stringify({ type: 'track', event: 'Page Viewed', timestamp: at(5_000) })) }],
    }),
  );
  expect(await stack.drain(30_000)).toBe(true);
  await until(
    "λ resolve's quarantine object",
    async () => (await s3().send(new ListObjectsV2Command({ Bucket: LAKE.localBucket, Prefix: LAKE.quarantinePrefix }))).Contents?.map((o) => o.Key!) ?? [],
    (keys) => keys.some((k) => k.includes('-malformed-')),
  );
  await until('two emails and an SMS in the outbox', outbox, (m) => m.filter((x) => x.channel === 'email').length >= 2 && m.some((x) => x.channel === 'sms'));
  await until(
    'a webhook delivered',
    async () => hooks,
    (n) => n > 0,
  );
  // Alice's first order: welcome-coupon issues her a code of the pool (λ journey: the cursor, the issue, the code).
  // A batch of its own, so the lake objects of the batches above (dave's alone among them) stay as they were.
  await collect([
    {
      type: 'track',
      userId: 'alice',
      event: 'Order Completed',
      properties: { first_order: true, total: 40, order_id: 'A-0' },
      messageId: 'o-a0',
      timestamp: new Date().toISOString(),
    },
  ]);
  expect(await stack.drain(30_000)).toBe(true);
  // Alice redeems her welcome code (λ journey, through welcome-coupon's coupon rule: the code marked, the pool's counters).
  const welcome = await until(
    "alice's welcome email",
    async () => (await api('GET', '/v1/outbox?limit=1000')).json.messages as { to: string[]; text: string; tags?: Record<string, string> }[],
    (m) => m.some((x) => x.tags?.cairn_journey === 'welcome-coupon'),
  );
  const aliceCode = /Use code (\S+) for/.exec(welcome.find((x) => x.tags?.cairn_journey === 'welcome-coupon')!.text)![1]!;
  await collect([
    { type: 'track', userId: 'alice', event: 'Coupon Redeemed', properties: { code: aliceCode }, messageId: 'cr-alice', timestamp: new Date().toISOString() },
  ]);
  expect(await stack.drain(30_000)).toBe(true);
  await until(
    "alice's code redeemed",
    async () => (await api('GET', '/v1/coupons/welcome')).json,
    (x) => x.redeemed === 1 && x.issued === 1,
  );
  // dave redeems a code the shop handed out itself (never issued): the code names him, his holder item
  // lists it, and λ erase removes him from both (GetItem, UpdateItem, DeleteItem on the coupons table).
  // Timed before his big order: not an exit of his new-store-coupon run (his reminder SMS still goes).
  await collect([{ type: 'track', userId: 'dave', event: 'Coupon Redeemed', properties: { code: codes.at(-1) }, messageId: 'cr-dave', timestamp: at(60_000) }]);
  expect(await stack.drain(30_000)).toBe(true);
  await until(
    "dave's code redeemed",
    async () => (await api('GET', '/v1/coupons/welcome')).json,
    (x) => x.redeemed === 2,
  );
  // Erin redeems her coupon while her run waits: the exit event cancels the wait (λ journey deletes its schedule).
  const journeys = new DynamoJourneyStore(journeysTableFromEnv());
  pid.erin = (await until(
    "erin's profile",
    () => person('erin'),
    (x) => !!x,
  ))!.profileId;
  const waiting = await until(
    "erin's run waiting",
    async () => {
      const st = await journeys.getState('new-store-coupon', pid.erin!);
      const name = st?.run?.waiting?.schedule;
      return { st, name, exists: name ? await waitExists(name) : false };
    },
    (v) => v.st?.run?.status === 'active' && !v.st.pending?.length && v.exists,
  );
  await collect([{ type: 'track', userId: 'erin', event: 'Coupon Redeemed', messageId: 'cr-erin', timestamp: new Date().toISOString() }]);
  expect(await stack.drain(30_000)).toBe(true);
  await until(
    "erin's run exited and its wait cancelled",
    async () => {
      const st = await journeys.getState('new-store-coupon', pid.erin!);
      return { status: st?.run?.status, pending: st?.pending?.length ?? 0, exists: await waitExists(waiting.name!) };
    },
    (v) => v.status === 'exited' && v.pending === 0 && !v.exists,
  );

  // Admin reads and writes.
  const alice = await api('GET', '/v1/profiles/user_id:alice');
  expect(alice.status).toBe(200);
  for (const path of [
    '/v1/profiles/user_id:alice/events',
    '/v1/profiles/user_id:alice/export',
    '/v1/segments',
    '/v1/segments/high-value',
    '/v1/segments/high-value/members',
    '/v1/segments/high-value/size',
    // The console's reads: the search box, a profile's merge ledger and journeys.
    '/v1/profiles?q=alice',
    '/v1/profiles/user_id:alice/merges',
    '/v1/profiles/user_id:alice/journeys',
    '/v1/computed-traits',
    '/v1/journeys',
    '/v1/journeys/vip-welcome',
    '/v1/journeys/new-store-coupon/stats',
    '/v1/sources',
  ]) {
    expect((await api('GET', path)).status, path).toBe(200);
  }
  // A segment's size before it is saved: the profiles table scanned as a sweep scans it.
  expect((await api('POST', '/v1/segments/preview', { where: { consent: 'email' } })).status).toBe(200);
  // A wrong merge undone (λ admin: the identity, profile and timeline writes of an unmerge, and
  // profile.unmerged on the bus): a kiosk's anonymous id links two people across batches.
  const kiosk = (messageId: string, m: Record<string, unknown>) => collect([{ type: 'identify', messageId, timestamp: new Date().toISOString(), ...m }]);
  await kiosk('k-kim', { userId: 'kim', anonymousId: 'kiosk-9', traits: { name: 'Kim' } });
  expect(await stack.drain(30_000)).toBe(true);
  await kiosk('k-lee', { anonymousId: 'lee-phone', traits: { email: 'lee@example.org' } });
  expect(await stack.drain(30_000)).toBe(true);
  await kiosk('k-link', { anonymousId: 'kiosk-9', traits: { email: 'lee@example.org' } });
  expect(await stack.drain(30_000)).toBe(true);
  // Lee's next event lands on the merged profile: the unmerge moves it back to Lee's timeline.
  await collect([{ type: 'track', messageId: 'k-lee-2', anonymousId: 'lee-phone', event: 'Viewed', timestamp: new Date().toISOString() }]);
  expect(await stack.drain(30_000)).toBe(true);
  const unmerged = await api('POST', `/v1/profiles/${encodeURIComponent('email:lee@example.org')}/unmerge`, { block: ['anonymous_id:kiosk-9'] });
  expect(unmerged.status, JSON.stringify(unmerged.json)).toBe(200);
  const created = await api('POST', '/v1/sources/web/keys', { create: true, name: 'Web', trust: 'browser' });
  expect(created.status).toBe(201);
  const rotated = await api('POST', '/v1/sources/web/keys', { overlap: '1h' });
  expect((await api('DELETE', `/v1/sources/web/keys/${rotated.json.keyId}`)).status).toBe(200);
  // A journey and a segment removed (their rules deleted, members swept).
  expect(
    (
      await api('PUT', '/v1/journeys/tmp', {
        kind: 'journey',
        id: 'tmp',
        consent: 'none',
        trigger: { event: 'X' },
        exit: { event: 'Y' },
        steps: [{ action: 'event', name: 'Z' }],
      })
    ).status,
  ).toBeLessThan(300);
  expect((await api('DELETE', '/v1/journeys/tmp')).status).toBeLessThan(300);
  // A segment on counters the profiles already keep (a new event condition counts from its PUT on):
  // ivan's two visits in 10 days, lena's visit after a Stop. λ recheck's sweep after the PUT puts both
  // in it with an earlier window change (ivan's recheck moved, lena's created); the sweep after the
  // DELETE takes them out (ivan's moved back, lena's cancelled).
  const tmpWhere = { any: [{ event: 'Visit', within: '10d', count: { gte: 2 } }, { all: [{ event: 'Stop' }, { event: 'Visit', within: '10d' }] }] };
  expect((await api('PUT', '/v1/segments/tmp', { kind: 'segment', id: 'tmp', where: tmpWhere })).status).toBeLessThan(300);
  await until(
    'the sweep after the PUT: ivan and lena in tmp, their rechecks earlier',
    async () => ({
      ivan: await recheckOf(pid.ivan!),
      lena: await recheckOf(pid.lena!),
      segs: [...(await segmentsOf('ivan')), ...(await segmentsOf('lena'))],
    }),
    (v) => v.segs.filter((g) => g === 'tmp').length === 2 && v.lena !== null && v.ivan !== null && v.ivan < ivanVisits.ivan!,
  );
  expect((await api('DELETE', '/v1/segments/tmp')).status).toBeLessThan(300);
  await until(
    "the sweep after the DELETE: ivan and lena out of tmp, lena's recheck cancelled",
    async () => ({
      ivan: await recheckOf(pid.ivan!),
      lena: await recheckOf(pid.lena!),
      segs: [...(await segmentsOf('ivan')), ...(await segmentsOf('lena'))],
    }),
    (v) => !v.segs.includes('tmp') && v.lena === null && v.ivan === ivanVisits.ivan,
  );

  // A file drop (λ import): manifest + CSV, report beside it.
  const file = 'imports/crm/customers.csv';
  await s3().send(
    new PutObjectCommand({
      Bucket: LAKE.localBucket,
      Key: `${file}.import.json`,
      Body: JSON.stringify({ type: 'identify', map: { Email: 'traits.email', No: 'crm_id' }, source: 'crm' }),
    }),
  );
  await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: file, Body: 'No;Email\r\nC1;c1@example.com\r\nC2;not-an-email\r\n' }));
  await until(
    'the import report',
    async () =>
      s3()
        .send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: `${file}.report.json` }))
        .then(
          () => true,
          () => false,
        ),
    (ok) => ok,
    30_000,
  );
  // A JSON Lines drop with a bad line: its rejects are written as JSON Lines.
  const jsonl = 'imports/shop/orders.jsonl';
  await s3().send(new PutObjectCommand({ Bucket: LAKE.localBucket, Key: jsonl, Body: '{"Email":"c1@example.com","Event":"Order Completed"}\n{not json\n' }));
  await s3().send(
    new PutObjectCommand({
      Bucket: LAKE.localBucket,
      Key: `${jsonl}.import.json`,
      Body: JSON.stringify({ type: 'track', event: 'Order Completed', map: { Email: 'traits.email' }, source: 'shop' }),
    }),
  );
  await until(
    'the JSON Lines rejects',
    async () =>
      s3()
        .send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: `${jsonl}.rejects.jsonl` }))
        .then(
          () => true,
          () => false,
        ),
    (ok) => ok,
    30_000,
  );
  // A file longer than one chunk (500 rows) with under 90 s of the invocation left after it: λ import
  // writes a checkpoint, whose own object event continues the import in a second invocation.
  const long = 'imports/app/kim.csv';
  await s3().send(
    new PutObjectCommand({
      Bucket: LAKE.localBucket,
      Key: `${long}.import.json`,
      Body: JSON.stringify({ type: 'track', event: 'Row Imported', map: { User: 'userId', N: 'properties.n' }, source: 'app' }),
    }),
  );
  await s3().send(
    new PutObjectCommand({ Bucket: LAKE.localBucket, Key: long, Body: ['User,N', ...Array.from({ length: 501 }, (_, i) => `kim,${i + 1}`)].join('\n') + '\n' }),
  );
  const longReport = async () =>
    s3()
      .send(new GetObjectCommand({ Bucket: LAKE.localBucket, Key: `${long}.report.json` }))
      .then(
        async (r) => JSON.parse(await r.Body!.transformToString()) as { status: string; invocations: number; accepted: number },
        () => undefined,
      );
  await until('the long import completed from its checkpoint', longReport, (r) => r?.status === 'completed', 30_000).then((r) =>
    expect(r).toMatchObject({ invocations: 2, accepted: 501 }),
  );

  // Erasure of dave (suppression now, λ erase on its schedule).
  const del = await api('DELETE', '/v1/profiles/user_id:dave');
  expect(del.status).toBe(202);
  expect(await stack.drain(30_000)).toBe(true);
  // dave is suppressed: a new message of his is dropped (and counted) by λ normalize; one already on the
  // normalized stream when the list changed (forwarded before normalize saw it) is dropped by λ resolve.
  await new Promise((r) => setTimeout(r, 500));
  await collect([{ type: 'track', userId: 'dave', event: 'Page Viewed', messageId: 'late-d1', timestamp: at(1_000) }]);
  await kinesis().send(
    new PutRecordsCommand({
      StreamName: STREAMS.normalized.name,
      Records: [
        {
          PartitionKey: 'dave',
          Data: Buffer.from(
            JSON.stringify({
              type: 'track',
              userId: 'dave',
              event: 'Page Viewed',
              messageId: 'late-d2',
              timestamp: at(1_000),
              receivedAt: at(1_000),
              properties: {},
              context: {},
              sourceId: 'default',
            }),
          ),
        },
      ],
    }),
  );
  expect(await stack.drain(30_000)).toBe(true);
  await until(
    'both late messages of dave dropped',
    async () => (await api('GET', `/v1/erasures/${del.json.erasureId}`)).json?.droppedMessages,
    (n) => n >= 2,
    30_000,
  );

  // jack's schedule fires 45 s after his Wave (the real time, before the clock moves): λ recheck's
  // per-profile run reads him, writes his exit and publishes it; the fired schedule deletes itself.
  await until(
    'jack out of iam-wave, his recheck fired',
    async () => ({ segs: await segmentsOf('jack'), r: await recheckOf(pid.jack!) }),
    (v) => !v.segs.includes('iam-wave') && v.r === null,
    90_000,
  );
  const ginaBefore = (await recheckOf(pid.gina!))!;

  // Four days later on the scheduler's clock: the coupon reminder, recheck schedules, the daily
  // snapshot and scores, and the erasure run.
  clockOffset = 4 * DAY;
  await until('the coupon reminder SMS', outbox, (m) => m.filter((x) => x.channel === 'sms').length >= 2, 30_000);
  // Batches given up on that hold dave's messages, as on-failure destinations write them (Lambda on
  // AWS under aws/lambda/, the local runtime under failed/): one with alice's too (the erasure rewrites
  // it), one with only dave's (the erasure deletes it), under each prefix.
  const kinesisRecord = (message: Record<string, unknown>) => ({
    eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${STREAMS.raw.name}`,
    kinesis: { partitionKey: 'k', data: Buffer.from(JSON.stringify({ message, sourceId: 'default', receivedAt: at(2_000) })).toString('base64') },
  });
  const failedBatch = (key: string, messages: Record<string, unknown>[]) =>
    s3().send(
      new PutObjectCommand({
        Bucket: LAKE.localBucket,
        Key: key,
        ContentType: 'application/json',
        Body: JSON.stringify({
          version: '1.0',
          KinesisBatchInfo: { batchSize: messages.length },
          payload: JSON.stringify({ Records: messages.map(kinesisRecord) }),
        }),
      }),
    );
  const track = (userId: string, messageId: string) => ({ type: 'track', event: 'Page Viewed', userId, messageId, timestamp: at(2_000) });
  for (const prefix of [LAKE.lambdaFailurePrefix, LAKE.failedPrefix]) {
    await failedBatch(`${prefix}normalize/shardId-000000000000/mixed.json`, [track('dave', `fb-d1-${prefix}`), track('alice', `fb-a1-${prefix}`)]);
    await failedBatch(`${prefix}normalize/shardId-000000000000/dave.json`, [track('dave', `fb-d2-${prefix}`)]);
  }
  // λ compact, invoked as an operator catching up would (today's events due, no grace period): the
  // day's Parquet part and manifest written, the objects tagged; the erasure below rewrites the part.
  const compacted = (await invokeFn!('compact', { settleHours: -24, graceMinutes: 0 })) as { rowsCompacted: number; sourcesTagged: number };
  expect(compacted.rowsCompacted).toBeGreaterThan(0);
  expect(compacted.sourcesTagged).toBeGreaterThan(0);
  // λ erase's scheduled run leaves requests younger than the settle time (3 min) pending; the run
  // after it (as the schedule would make) is invoked the way its schedule does, told the time is up.
  await invokeFn!('erase', { settleSeconds: 0 });
  await until(
    'the erasure done',
    async () => (await api('GET', `/v1/erasures/${del.json.erasureId}`)).json?.status,
    (s) => s === 'erased',
    30_000,
  );
  await until(
    'scores written back',
    async () => (await api('GET', '/v1/profiles/user_id:alice')).json?.computed?.rfm_group,
    (g) => g !== undefined,
    30_000,
  );
  await until(
    'λ scores moved gina to iam-scored (recheck moved) and hana out (recheck cancelled)',
    async () => ({
      gina: await segmentsOf('gina'),
      hana: await segmentsOf('hana'),
      ginaAt: await recheckOf(pid.gina!),
      hanaAt: await recheckOf(pid.hana!),
    }),
    (v) => v.gina.join() === 'iam-scored' && v.hana.length === 0 && v.ginaAt !== null && v.ginaAt > ginaBefore && v.hanaAt === null,
    30_000,
  );

  // λ admin's lake queries (Athena on AWS, the local twin's Athena here): queries that read every lake
  // table between them (the events view and the three tables under it, quarantine, audit; profiles and
  // journey_steps by the simulation below), each polled to its result.
  const lakeQuery = async (body: Record<string, unknown>) => {
    const started = await api('POST', '/v1/lake/queries', body);
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    return until(
      `lake query ${JSON.stringify(body)} answered`,
      async () => (await api('GET', started.json.statusUrl)).json,
      (v) => v.state !== 'queued' && v.state !== 'running',
    ).then((v) => expect(v.state, v.reason).toBe('succeeded'));
  };
  for (const query of ['catalogue', 'quarantine', 'privacy-requests']) await lakeQuery({ query });
  await lakeQuery({ query: 'journey', journey: 'welcome-coupon' });
  // A long query cancelled through the API (started here, as the lake-queries test does: DuckDB sums 10^11 numbers).
  const { QueryExecutionId: longQuery } = await scenarioAthena().send(
    new StartQueryExecutionCommand({
      QueryString: `-- cairn-lake-query: {"query":"catalogue","options":{}}\nSELECT sum(i) AS s FROM range(100000000000) t(i)`,
      WorkGroup: LOCAL_ATHENA.workgroup,
    }),
  );
  scenarioQueries.add(longQuery!);
  await until(
    'the long query running',
    async () => (await api('GET', `/v1/lake/queries/${longQuery}`)).json.state,
    (st) => st === 'running',
  );
  expect((await api('DELETE', `/v1/lake/queries/${longQuery}`)).json.state).toBe('cancelled');
  // A dry run of a journey over the lake's history, with a policy whose caps read the lake's journey_steps.
  expect(
    (await api('PUT', '/v1/policies/default', { kind: 'policy', id: 'default', channels: { email: { cap: { max: 100, per: '30d' } } } })).status,
  ).toBeLessThan(300);
  const simulated = await api('POST', '/v1/journeys/simulate', { id: 'welcome-coupon', since: '7d', sample: 1 });
  expect(simulated.status, JSON.stringify(simulated.json)).toBe(200);
  expect(simulated.json.history.reads.map((r: { table: string }) => r.table).sort()).toEqual(['events', 'journey_steps', 'profiles']);
  // Quarantine replay: the invalid records of both stages back onto the raw and the normalized stream.
  const replayed = await api('POST', '/v1/quarantine/replay', { maxObjects: 100 });
  expect(replayed.status, JSON.stringify(replayed.json)).toBe(200);
  expect(Object.keys(replayed.json.records).sort()).toEqual([STREAMS.normalized.name, STREAMS.raw.name].sort());

  expect(await stack.drain(30_000)).toBe(true);
  await new Promise((r) => setTimeout(r, 1000));
  expect(await stack.drain(30_000)).toBe(true);
  calls = existsSync(recordFile)
    ? readFileSync(recordFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RecordedCall)
    : [];
  // The executions λ admin's calls name, as the local Athena holds them (asked outside any invocation: not recorded).
  for (const c of calls.filter((x) => x.service === 'athena' && x.resource.startsWith('query-execution/'))) {
    const id = c.resource.slice('query-execution/'.length);
    if (executions.has(id)) continue;
    const x = (await scenarioAthena().send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!;
    executions.set(id, {
      id,
      workgroup: x.WorkGroup!,
      query: x.Query!,
      ...(x.QueryExecutionContext?.Database ? { database: x.QueryExecutionContext.Database } : {}),
    });
  }
}, 220_000);

afterAll(async () => {
  delete process.env[RECORD_CALLS_VAR];
  await stack?.close();
  await new Promise((r) => hook?.close(r));
});

describe('IAM from real calls', () => {
  it('every function ran in the scenario', () => {
    const ran = new Set(calls.map((c) => c.fn));
    expect([...ran].sort()).toEqual(Object.keys(FUNCTIONS).sort());
  });

  let checked: { denied: string[]; unused: string[]; staleAllowList: string[] } | undefined;
  function check() {
    return (checked ??= compare());
  }
  function compare() {
    const { template } = synthCairn();
    const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: any }>;
    const names = new TemplateNames(resources, localEnv());
    const grants = grantsOf(resources, names);
    expect(new Set(grants.map((g) => g.fn))).toEqual(new Set(Object.keys(FUNCTIONS)));

    // What Athena does with λ admin's credentials for each query λ admin started (infra/constructs/lake-query-access.ts).
    const [, workGroup] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Athena::WorkGroup')!;
    const outputLocation = names.resolve(workGroup.Properties.WorkGroupConfiguration.ResultConfiguration.OutputLocation);
    const tables = glueTables(resources, names);
    const queried = [...executions.values()].filter((x) => !scenarioQueries.has(x.id));
    expect(queried.length).toBeGreaterThan(0);
    const needs: Need[] = [...calls.flatMap((c) => needsOf(c, names, executions)), ...queried.flatMap((x) => athenaNeeds('admin', x, tables, outputLocation))];
    const serviceSide: Need[] = [];
    const unused: string[] = [];
    const allowListUsed = new Set<number>();
    // Grants used only by AWS itself: each allow-listed grant counts as a need (it implies its KMS use too).
    for (const g of grants) {
      for (const action of g.actions) {
        for (const resource of g.resources) {
          const i = ALLOWED_UNUSED.findIndex(
            (a) => actionMatch(a.action, action) && (a.fns === '*' || a.fns.includes(g.fn)) && (!a.resource || a.resource.test(resource)),
          );
          if (i >= 0) {
            allowListUsed.add(i);
            serviceSide.push({ fn: g.fn, action, resource, from: `allow-list: ${ALLOWED_UNUSED[i]!.reason}` });
          }
        }
      }
    }
    const all = [...needs, ...serviceSide];
    const kms = all.flatMap(kmsNeeds);
    const denied = [...needs, ...kms]
      .filter((n) => !allowedBy(n, grants))
      .map((n) => `${n.fn}: ${n.action} on ${n.via ? `the Cairn key via ${n.via}` : n.resource}`);
    const usedBy = (g: Grant, action: string, resource: string) =>
      (g.via !== undefined ? kms : all).some(
        (n) => n.fn === g.fn && actionMatch(action, n.action) && (g.via !== undefined ? n.via === g.via : iamMatch(resource, n.resource)),
      );
    for (const g of grants) {
      for (const action of g.actions) {
        for (const resource of g.resources) {
          if (!usedBy(g, action, resource)) unused.push(`${g.fn}: ${action} on ${g.via ? `${resource} via ${g.via}` : resource}`);
        }
      }
    }
    const staleAllowList = ALLOWED_UNUSED.filter((_, i) => !allowListUsed.has(i)).map((a) => a.action);
    return { denied: [...new Set(denied)].sort(), unused: [...new Set(unused)].sort(), staleAllowList };
  }

  it('every call a function made is allowed by its role (function, action, resource)', () => {
    expect(check().denied).toEqual([]);
  }, 120_000); // synthesising the stack takes ~10 s, several times that on a loaded machine

  // Exactness: no grant beyond what the recorded calls need, except what AWS itself uses with the role
  // (ALLOWED_UNUSED, each with its reason). A grant the code stops calling, or a new grant whose path
  // the scenario does not reach, fails here: drive the path above or drop the grant.
  it('every grant is used by a recorded call or allow-listed with a reason', () => {
    const { unused, staleAllowList } = check();
    expect({ unused, staleAllowList }).toEqual({ unused: [], staleAllowList: [] });
  }, 120_000);
});
