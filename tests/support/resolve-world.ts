/**
 * λ resolve and the admin API in-process on the emulators (dynalite, kinesalite, s3rver) and the local
 * EventBridge, with every event the bus delivers recorded: for tests that feed resolve batches by
 * hand (shard, order, replays) instead of through the whole local stack. `useResolveWorld` registers
 * beforeAll/afterAll in the enclosing suite.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import { startLocalSecretsManager } from '#local/secretsmanager/service';
import type { LocalSecretsManager } from '#local/secretsmanager/server';
import { startEventBridge, type LocalEventBridge } from '#local/eventbridge/server';
import { apiGatewayEventFor } from '#local/apigw';
import { eventBridge } from '#shared/aws/clients';
import { BUS, ENV, LAKE, STREAMS, TABLES } from '#shared/config/resources';
import { toKinesisEvent } from '#shared/message/kinesis-event';
import type { NormalizedMessage } from '#shared/message/types';
import { resolveHandler } from '#shared/resolve';
import { adminHandler } from '#shared/admin';
import { resolverDepsFromEnv } from '#functions/resolve/deps';
import { adminRouterFromEnv } from '#functions/admin/deps';

export interface BusDelivery {
  'detail-type': string;
  detail: Record<string, any>;
}

export interface ResolveWorld {
  /** Every event the bus delivered, in order. */
  received: BusDelivery[];
  /** A normalized message stamped one second after the previous one (ids `<tag>-<n>`). */
  msg(p: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>): NormalizedMessage;
  /** The Kinesis event λ resolve gets for `msgs` on one shard (sequence numbers increase across calls). */
  kinesisEvent(msgs: NormalizedMessage[], shard?: string): ReturnType<typeof toKinesisEvent>;
  /** λ resolve's handler (built in beforeAll). */
  resolve: ReturnType<typeof resolveHandler>;
  /** An admin API call with the event API Gateway builds for it (local/apigw.ts). */
  get(path: string): Promise<Answer>;
  post(path: string, body: unknown): Promise<Answer>;
  /** The local EventBridge (its `drain`). */
  bus(): LocalEventBridge;
  /** The next Kinesis sequence number, for records a test builds itself. */
  nextSequence(): string;
  /** The emulators' data directory (the local lake DuckDB reads is under it: cli/lake.ts). */
  readonly dataDir: string;
}

type Answer = { status: number | undefined; body: any };

export function useResolveWorld(tag: string): ResolveWorld {
  let emu: Emulators | undefined;
  let eb: LocalEventBridge | undefined;
  let secrets: LocalSecretsManager | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), `cairn-${tag}-`));
  let seq = 1_000_000;
  let n = 0;
  const admin = adminHandler(adminRouterFromEnv);
  const answer = async (res: { statusCode?: number; body?: string }): Promise<Answer> => ({ status: res.statusCode, body: JSON.parse(res.body ?? 'null') });
  const world: ResolveWorld = {
    received: [],
    msg: (p) => ({
      messageId: `${tag}-${++n}`,
      properties: {},
      traits: {},
      context: {},
      timestamp: new Date(Date.UTC(2024, 2, 1) + n * 1000).toISOString(),
      receivedAt: new Date(Date.UTC(2024, 2, 1) + n * 1000 + 50).toISOString(),
      sourceId: 'src',
      ...p,
    }),
    kinesisEvent: (msgs, shard = 'shardId-000000000000') =>
      toKinesisEvent(
        msgs.map((m) => ({ data: JSON.stringify(m), partitionKey: m.userId ?? m.anonymousId ?? 'x', sequenceNumber: String(++seq) })),
        STREAMS.normalized.name,
        shard,
      ),
    resolve: (() => {
      throw new Error('useResolveWorld: resolve is built in beforeAll');
    }) as ResolveWorld['resolve'],
    bus: () => {
      if (!eb) throw new Error('useResolveWorld: the bus starts in beforeAll');
      return eb;
    },
    nextSequence: () => String(++seq),
    dataDir: join(dataDir, 'emu'),
    get: async (path) => answer(await admin(apiGatewayEventFor('GET', path))),
    post: async (path, body) =>
      answer(await admin(apiGatewayEventFor('POST', path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }))),
  };

  beforeAll(async () => {
    process.env.CAIRN_LOG_LEVEL = 'error';
    emu = await startEmulators(join(dataDir, 'emu'));
    eb = await startEventBridge({
      dataDir,
      buses: [BUS.name],
      invoke: async (_fn, event) => {
        world.received.push(event as BusDelivery);
      },
    });
    useEndpoints({ ...emu.endpoints, events: eb.endpoint });
    await createResources();
    // The suppression key λ resolve hashes with (the stack creates it; here, as the stack does).
    secrets = await startLocalSecretsManager(dataDir);
    Object.assign(process.env, {
      [ENV.identitiesTable]: TABLES.identities.name,
      [ENV.profilesTable]: TABLES.profiles.name,
      [ENV.timelineTable]: TABLES.timeline.name,
      [ENV.lakeBucket]: LAKE.localBucket,
      [ENV.eventBus]: BUS.name,
    });
    await eventBridge().send(new PutRuleCommand({ Name: 'all-cairn', EventBusName: BUS.name, EventPattern: JSON.stringify({ source: ['cairn'] }) }));
    await eventBridge().send(
      new PutTargetsCommand({
        Rule: 'all-cairn',
        EventBusName: BUS.name,
        Targets: [{ Id: 'rec', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:recorder' }],
      }),
    );
    world.resolve = resolveHandler(resolverDepsFromEnv);
  });
  afterAll(async () => {
    await secrets?.close();
    await eb?.close();
    await emu?.close();
  });
  return world;
}
