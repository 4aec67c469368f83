/**
 * The catalog of resources the stage constructs create, keyed by the names used in
 * shared/config/resources.ts. A `CairnFunction` looks up what its `access` and `env` declare
 * here, so the grants and environment of every function follow from its definition alone.
 * Stages are built in pipeline order; a function may only use resources created before it.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { FUNCTIONS, SECRETS, STREAMS, TABLES } from '#shared/config';
import type { CairnSettings } from '../settings';

export type TableName = keyof typeof TABLES;
export type StreamName = keyof typeof STREAMS;
export type FunctionName = keyof typeof FUNCTIONS;
export type SecretName = keyof typeof SECRETS;

/** A function as other constructs see it (avoids an import cycle with CairnFunction). */
export interface CatalogFunction {
  readonly name: FunctionName;
  readonly function: lambda.IFunction;
}

export class Catalog {
  readonly tables: Partial<Record<TableName, dynamodb.ITable>> = {};
  readonly streams: Partial<Record<StreamName, kinesis.IStream>> = {};
  readonly functions: Partial<Record<FunctionName, CatalogFunction>> = {};
  readonly secrets: Partial<Record<SecretName, secretsmanager.ISecret>> = {};
  lakeBucket?: s3.IBucket;
  bus?: events.IEventBus;
  /** On-failure destination of every Kinesis event-source mapping. */
  failureDestination?: lambda.IEventSourceDlq;
  /** λ recheck as a Scheduler target (infra/constructs/segments.ts): its ARN and the role schedules assume. */
  recheckScheduler?: { targetArn: string; roleArn: string };
  /**
   * What the lake's queries run in (infra/constructs/lake.ts): the Athena workgroup and Glue database
   * (their names, as tokens), every Glue table of the database (views too) with the key prefix it reads
   * (none for a view), and the prefix the workgroup writes results under.
   */
  lakeQueryEngine?: { workGroup: string; database: string; tables: { name: string; prefix?: string }[]; resultsPrefix: string };
  /** λ journey's runtime settings (infra/constructs/journeys.ts), for the ENV values that name them. */
  journeyRuntime?: { functionArn: string; schedulerRoleArn: string; scheduleGroup: string; emailFrom: string };

  constructor(
    readonly key: kms.IKey,
    readonly settings: CairnSettings,
  ) {}

  table(name: TableName): dynamodb.ITable {
    return this.need(this.tables[name], `table ${name}`);
  }
  secret(name: SecretName): secretsmanager.ISecret {
    return this.need(this.secrets[name], `secret ${name}`);
  }
  stream(name: StreamName): kinesis.IStream {
    return this.need(this.streams[name], `stream ${name}`);
  }
  lake(): s3.IBucket {
    return this.need(this.lakeBucket, 'the lake bucket');
  }
  lakeQueries(): NonNullable<Catalog['lakeQueryEngine']> {
    return this.need(this.lakeQueryEngine, 'the lake query engine (Lake construct)');
  }
  eventBus(): events.IEventBus {
    return this.need(this.bus, 'the event bus');
  }
  recheck(): { targetArn: string; roleArn: string } {
    return this.need(this.recheckScheduler, 'the recheck scheduler role (Segments construct)');
  }
  journeys(): NonNullable<Catalog['journeyRuntime']> {
    return this.need(this.journeyRuntime, 'the journey runtime (Journeys construct)');
  }
  onFailure(): lambda.IEventSourceDlq {
    return this.need(this.failureDestination, 'the event-source failure destination');
  }
  fn(name: FunctionName): CatalogFunction {
    return this.need(this.functions[name], `function ${name}`);
  }

  /** Throws when a definition in shared/config/resources.ts was not built by any stage construct. */
  assertComplete(): void {
    const missing = [
      ...Object.keys(TABLES)
        .filter((k) => !this.tables[k as TableName])
        .map((k) => `TABLES.${k}`),
      ...Object.keys(STREAMS)
        .filter((k) => !this.streams[k as StreamName])
        .map((k) => `STREAMS.${k}`),
      ...Object.keys(FUNCTIONS)
        .filter((k) => !this.functions[k as FunctionName])
        .map((k) => `FUNCTIONS.${k}`),
      ...Object.keys(SECRETS)
        .filter((k) => !this.secrets[k as SecretName])
        .map((k) => `SECRETS.${k}`),
    ];
    if (missing.length) {
      throw new Error(`defined in shared/config/resources.ts but created by no stage construct in infra/: ${missing.join(', ')}`);
    }
  }

  private need<T>(v: T | undefined, what: string): T {
    if (v === undefined)
      throw new Error(`${what} is not in the catalog yet: create it in an earlier stage construct (infra/stack.ts builds stages in pipeline order)`);
    return v;
  }
}
