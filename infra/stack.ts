/**
 * CairnStack: the whole platform in one stack, one construct per pipeline stage, built in
 * pipeline order so each stage can use what the stages before it created:
 *
 *   Encryption → Events (bus) → Lake → LakeCompaction (λ compact: events → Parquet) → Collection (API, collect, raw stream, sources)
 *              → Normalization (normalize, dedup, normalized stream)
 *              → Imports (λ import: files dropped under imports/ in the lake → raw stream)
 *              → Segments (members table, recheck scheduler role) → Identity (resolve, snapshot,
 *                identities/profiles/timeline) → λ recheck → Journeys (state, λ journey, waits) → Admin (admin API function)
 *              → Privacy (privacy table and suppression key early; λ erase after Journeys)
 *              → Schedules (SCHEDULES: the daily profile snapshot, erasure)
 *              → routes (collection + admin, one HTTP API)
 *              → Console (static site, Cognito sign-in, the admin routes behind a JWT authorizer) → outputs
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ROUTES, SECRETS, TABLES } from '#shared/config';
import { Catalog, type SecretName, type TableName } from './constructs/catalog';
import { Admin } from './constructs/admin';
import { Collection } from './constructs/collection';
import { Encryption } from './constructs/encryption';
import { Events } from './constructs/events';
import { Identity } from './constructs/identity';
import { Journeys } from './constructs/journeys';
import { Lake } from './constructs/lake';
import { LakeCompaction } from './constructs/compaction';
import { Monitoring } from './constructs/monitoring';
import { Imports } from './constructs/imports';
import { Normalization } from './constructs/normalization';
import { Schedules } from './constructs/schedules';
import { Segments } from './constructs/segments';
import { Privacy } from './constructs/privacy';
import { ConsoleSite } from './constructs/console-site';
import { resolveSettings, type CairnSettings, type CairnSettingsProps } from './settings';

export interface CairnStackProps extends StackProps, CairnSettingsProps {}

export class CairnStack extends Stack {
  readonly settings: CairnSettings;
  readonly catalog: Catalog;
  readonly encryption: Encryption;
  readonly events: Events;
  readonly lake: Lake;
  /** λ compact: the lake's events into Parquet (docs/lake.md#compaction). */
  readonly compaction: LakeCompaction;
  readonly collection: Collection;
  readonly normalization: Normalization;
  /** File drops under imports/ in the lake → λ import (docs/import.md). */
  readonly imports: Imports;
  readonly identity: Identity;
  readonly admin: Admin;
  readonly segments: Segments;
  readonly journeys: Journeys;
  readonly schedules: Schedules;
  readonly privacy: Privacy;
  readonly monitoring: Monitoring;
  /** The console on AWS (docs/deploy.md#console-on-aws); absent with `cairn:console=false`. */
  readonly console?: ConsoleSite;

  constructor(scope: Construct, id: string, props: CairnStackProps = {}) {
    super(scope, id, {
      description: 'Cairn customer data platform: collection, normalization, identity and profiles, lake, event bus',
      ...props,
    });
    this.settings = resolveSettings(this, props);

    this.encryption = new Encryption(this, 'Encryption', this.settings);
    this.catalog = new Catalog(this.encryption.key, this.settings);
    this.events = new Events(this, 'Events', this.catalog);
    this.lake = new Lake(this, 'Lake', this.catalog);
    this.compaction = new LakeCompaction(this, 'Compaction', this.catalog);
    this.collection = new Collection(this, 'Collection', this.catalog);
    // Privacy table before the pipeline (normalize and resolve read the suppression list); λ erase after Journeys.
    this.privacy = new Privacy(this, 'Privacy', this.catalog);
    this.normalization = new Normalization(this, 'Normalization', this.catalog);
    this.imports = new Imports(this, 'Imports', this.catalog);
    // Segments: members table and recheck scheduler role before Identity (λ resolve uses them), λ recheck after it.
    this.segments = new Segments(this, 'Segments', this.catalog);
    this.identity = new Identity(this, 'Identity', this.catalog);
    this.segments.addRecheck();
    this.journeys = new Journeys(this, 'Journeys', this.catalog);
    this.admin = new Admin(this, 'Admin', this.catalog);
    this.privacy.addEraser();
    this.schedules = new Schedules(this, 'Schedules', this.catalog);

    this.collection.addRoutes(ROUTES);
    if (this.settings.console) {
      const webAclArn = this.collection.edge?.webAcl?.attrArn ?? this.settings.webAclArn;
      this.console = new ConsoleSite(this, 'Console', {
        catalog: this.catalog,
        accessLogsBucket: this.lake.accessLogsBucket,
        ...(webAclArn ? { webAclArn } : {}),
      });
    }
    this.catalog.assertComplete();
    // Dashboard and alarms over everything above (docs/operations.md).
    this.monitoring = new Monitoring(this, 'Monitoring', {
      catalog: this.catalog,
      key: this.encryption.key,
      stage: this.collection.stage,
      ...(this.normalization.failureQueue ? { failureQueue: this.normalization.failureQueue } : { failureBucket: this.lake.bucket }),
      journeyFailureQueue: this.journeys.failureQueue,
      alarmEmail: this.settings.alarmEmail,
    });

    const out = (id: string, value: string, description: string): CfnOutput => new CfnOutput(this, id, { value, description });
    out('CollectorUrl', this.collection.url, 'Base URL of the collection API (apiHost for SDKs)');
    if (this.collection.edge)
      out('EdgeUrl', this.collection.edge.url, 'CloudFront (+ WAF) URL in front of the collection API: give this to SDKs (docs/security.md)');
    out('LakeBucket', this.lake.bucket.bucketName, 'S3 bucket holding the lake');
    out('AthenaWorkGroup', this.lake.workGroup.name, 'Athena workgroup for lake queries');
    out('GlueDatabase', this.lake.databaseName, 'Glue database with the events, quarantine and profiles tables');
    out('RawStreamName', this.collection.rawStream.streamName, 'Kinesis stream of collected messages (npx cairn replay)');
    out('NormalizedStreamName', this.normalization.normalizedStream.streamName, 'Kinesis stream of normalised messages (npx cairn replay)');
    out('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic every Cairn alarm notifies');
    out('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard of the pipeline');
    out(
      'StatusPolicyArn',
      this.monitoring.statusPolicy.managedPolicyArn,
      'Managed policy for operators running npx cairn --stack <name> status (read-only: outputs, alarms, metrics)',
    );
    out('EventBusName', this.events.bus.eventBusName, 'EventBridge bus the pipeline publishes to');
    out(
      'EraseFunctionName',
      this.catalog.fn('erase').function.functionName,
      'λ erase: npx cairn --stack <name> erase --full-scan invokes it with {"fullScan":true} (docs/privacy.md)',
    );
    for (const name of Object.keys(TABLES) as TableName[]) {
      out(`${TABLES[name].id}Name`, this.catalog.table(name).tableName, `DynamoDB table ${name}`);
    }
    // ARNs, never values (npx cairn replay and suppression rekey read the suppression key with the caller's credentials).
    for (const name of Object.keys(SECRETS) as SecretName[]) {
      out(`${SECRETS[name].id}Arn`, this.catalog.secret(name).secretArn, `Secrets Manager secret ${name}: ${SECRETS[name].description}`);
    }
    if (this.console) {
      const c = this.console;
      out('ConsoleUrl', c.url, 'The console (sign in with the user pool; docs/deploy.md#console-on-aws)');
      out('ConsoleUserPoolId', c.users.userPool.userPoolId, 'Cognito user pool of console users: invite users and set their group (admin, marketer, viewer)');
      out('ConsoleUserPoolClientId', c.client.userPoolClientId, "The console's app client (authorization code with PKCE, no secret)");
      out('ConsoleSignInDomain', c.users.authOrigin, 'Hosted sign-in pages of the console user pool');
    }
    out(
      'FailedBatchesDestination',
      this.normalization.failureQueue?.queueUrl ?? `s3://${this.lake.bucket.bucketName}/aws/lambda/`,
      'Where event-source mappings put batches they gave up on',
    );
  }
}
