/**
 * How a client talks to a local emulator (dynalite, kinesalite, s3rver, the local EventBridge,
 * Scheduler, outbox, Secrets Manager and Athena): its endpoint, a region, credentials the emulator accepts, and path-style
 * S3 addressing. The handlers' clients (clients.ts), the local stack's own clients, the CLI and the
 * tests all build emulator clients from this. No SDK import here, so importing it costs nothing.
 */
export type Service = 'dynamodb' | 'kinesis' | 's3' | 'events' | 'scheduler' | 'ses' | 'sns' | 'secretsmanager' | 'athena';

export function emulatorConfig(service: Service, endpoint: string | undefined, region = process.env.AWS_REGION ?? 'us-east-1') {
  return {
    endpoint,
    region,
    // Emulators accept any credentials; s3rver wants its own pair.
    credentials: service === 's3' ? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } : { accessKeyId: 'local', secretAccessKey: 'local' },
    // s3rver serves buckets as paths, not as host names.
    ...(service === 's3' ? { forcePathStyle: true } : {}),
  };
}
