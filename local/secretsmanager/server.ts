/**
 * Local AWS Secrets Manager: an HTTP server on 127.0.0.1 speaking Secrets Manager's JSON 1.1
 * protocol (`X-Amz-Target: secretsmanager.<Operation>`), so the AWS SDK v3 `SecretsManagerClient`
 * (with `endpoint` set) works unchanged — the handlers read their secrets through it exactly as on
 * AWS (shared/aws/secrets.ts). The operations Cairn uses, with AWS's shapes and errors (the SDK
 * model, @aws-sdk/client-secrets-manager, and the API reference):
 *
 * - `CreateSecret` (Name, SecretString, ClientRequestToken → ARN, Name, VersionId); an existing
 *   name is `ResourceExistsException`, unless the request repeats the version that created it;
 * - `GetSecretValue` (SecretId = name or ARN; VersionId or VersionStage, default AWSCURRENT →
 *   ARN, Name, VersionId, SecretString, VersionStages, CreatedDate); an unknown secret or version is
 *   `ResourceNotFoundException`;
 * - `PutSecretValue` (a new AWSCURRENT version; the previous one becomes AWSPREVIOUS): rotation by hand;
 * - `DescribeSecret` (ARN, Name, Description, dates, VersionIdsToStages).
 *
 * Secrets persist in `<dataDir>/secretsmanager/secrets.json`, written atomically with mode 0600
 * (they are keys). No encryption at rest, no resource policies, no rotation lambdas, no deletion.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { log } from '#shared/log';
import { serveAwsJson } from '../aws-json';
import { AwsError } from '../aws-http';
import { LOCAL_ACCOUNT } from '../eventbridge/state';

interface Version {
  id: string;
  value: string;
  stages: string[];
  /** Epoch seconds (the protocol's timestamp format). */
  created: number;
}
interface Secret {
  name: string;
  arn: string;
  description?: string;
  created: number;
  changed: number;
  versions: Version[];
}

export interface LocalSecretsManager {
  endpoint: string;
  /** Secrets held (names only: values never leave through this). */
  names(): string[];
  close(): Promise<void>;
}

const MAX_BODY = 256 * 1024;
/** SecretString: at most 65,536 bytes (API reference, CreateSecret). */
const MAX_SECRET_BYTES = 65_536;
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** AWS appends a hyphen and six random characters to a secret's name in its ARN. */
const arnSuffix = () => [...randomBytes(6)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[b % 62]).join('');

/** Writes `data` as JSON atomically, readable by the owner only. */
function writePrivateJson(file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, JSON.stringify(data, null, 1), { mode: 0o600 });
  renameSync(tmp, file);
  chmodSync(file, 0o600);
}

export async function startSecretsManager(opts: { dataDir: string; region?: string; port?: number }): Promise<LocalSecretsManager> {
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const file = join(opts.dataDir, 'secretsmanager', 'secrets.json');
  const secrets: Secret[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { secrets: Secret[] }).secrets : [];
  const save = () => writePrivateJson(file, { secrets });

  /** A secret by name or ARN (a partial ARN without the suffix too, as AWS accepts). */
  const find = (id: string): Secret => {
    const s = secrets.find((x) => x.name === id || x.arn === id || (id.startsWith('arn:') && x.arn.startsWith(`${id}-`) && x.arn.length === id.length + 7));
    if (!s) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return s;
  };
  const secretId = (body: Record<string, unknown>): string => {
    const id = str(body.SecretId);
    if (!id) throw new AwsError('InvalidParameterException', 'You must specify a SecretId.');
    return id;
  };
  const secretString = (body: Record<string, unknown>): string | undefined => {
    if (body.SecretBinary !== undefined) throw new AwsError('InvalidRequestException', 'The local Secrets Manager holds SecretString values only.');
    const v = body.SecretString;
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || Buffer.byteLength(v) > MAX_SECRET_BYTES) {
      throw new AwsError('InvalidParameterException', `SecretString must be a string of at most ${MAX_SECRET_BYTES} bytes.`);
    }
    return v;
  };
  const token = (body: Record<string, unknown>): string => {
    const t = str(body.ClientRequestToken) ?? randomUUID();
    if (t.length < 32 || t.length > 64) throw new AwsError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters long.');
    return t;
  };
  /** Adds a version as AWSCURRENT (the current one becomes AWSPREVIOUS, the previous one loses its stage). */
  const addVersion = (s: Secret, id: string, value: string): Version => {
    for (const v of s.versions) v.stages = v.stages.filter((st) => st !== 'AWSPREVIOUS');
    for (const v of s.versions) if (v.stages.includes('AWSCURRENT')) v.stages = [...v.stages.filter((st) => st !== 'AWSCURRENT'), 'AWSPREVIOUS'];
    const version: Version = { id, value, stages: ['AWSCURRENT'], created: nowSeconds() };
    s.versions = [...s.versions.filter((v) => v.stages.length), version];
    s.changed = version.created;
    return version;
  };

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    CreateSecret(body) {
      const name = str(body.Name);
      if (!name || !NAME.test(name))
        throw new AwsError(
          'InvalidParameterException',
          'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
        );
      const value = secretString(body);
      const id = token(body);
      const existing = secrets.find((s) => s.name === name);
      if (existing) {
        // A retried request (same token, same value) succeeds again, as on AWS.
        const same = existing.versions.find((v) => v.id === id);
        if (same && same.value === value) return { ARN: existing.arn, Name: existing.name, VersionId: same.id };
        throw new AwsError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
      }
      const created = nowSeconds();
      const s: Secret = {
        name,
        arn: `arn:aws:secretsmanager:${region}:${LOCAL_ACCOUNT}:secret:${name}-${arnSuffix()}`,
        ...(str(body.Description) !== undefined ? { description: str(body.Description) } : {}),
        created,
        changed: created,
        versions: [],
      };
      const version = value !== undefined ? addVersion(s, id, value) : undefined;
      secrets.push(s);
      save();
      return { ARN: s.arn, Name: s.name, ...(version ? { VersionId: version.id } : {}) };
    },
    GetSecretValue(body) {
      const s = find(secretId(body));
      const versionId = str(body.VersionId);
      const stage = str(body.VersionStage) ?? (versionId ? undefined : 'AWSCURRENT');
      const v = s.versions.find((x) => (versionId === undefined || x.id === versionId) && (stage === undefined || x.stages.includes(stage)));
      if (!v) {
        throw new AwsError(
          'ResourceNotFoundException',
          versionId !== undefined
            ? `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`
            : `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
        );
      }
      return { ARN: s.arn, Name: s.name, VersionId: v.id, SecretString: v.value, VersionStages: v.stages, CreatedDate: v.created };
    },
    PutSecretValue(body) {
      const s = find(secretId(body));
      const value = secretString(body);
      if (value === undefined) throw new AwsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
      const id = token(body);
      const same = s.versions.find((v) => v.id === id);
      if (same) {
        if (same.value !== value) throw new AwsError('ResourceExistsException', `A version with VersionId ${id} already exists with a different value.`);
        return { ARN: s.arn, Name: s.name, VersionId: same.id, VersionStages: same.stages };
      }
      const v = addVersion(s, id, value);
      save();
      return { ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: v.stages };
    },
    DescribeSecret(body) {
      const s = find(secretId(body));
      return {
        ARN: s.arn,
        Name: s.name,
        ...(s.description !== undefined ? { Description: s.description } : {}),
        CreatedDate: s.created,
        LastChangedDate: s.changed,
        VersionIdsToStages: Object.fromEntries(s.versions.map((v) => [v.id, v.stages])),
      };
    },
  };

  const { endpoint, close } = await serveAwsJson(
    { target: 'secretsmanager', name: 'Secrets Manager', logAs: 'secretsmanager', maxBody: MAX_BODY, internalError: 'InternalServiceError', operations },
    opts.port,
  );
  log('info', 'secretsmanager.started', { endpoint, secrets: secrets.length });
  return {
    endpoint,
    names: () => secrets.map((s) => s.name),
    close,
  };
}
