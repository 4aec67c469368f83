/**
 * The local Secrets Manager (local/secretsmanager) answers as AWS does, through the real SDK client
 * (@aws-sdk/client-secrets-manager, JSON 1.1, `X-Amz-Target: secretsmanager.<Operation>`): created
 * secrets read back with AWS's shapes (ARN with the 6-character suffix, version id, stages, date),
 * by name or ARN; an unknown secret is `ResourceNotFoundException` (`__type` on the wire, a 400, the
 * SDK's own exception class); an existing name is `ResourceExistsException`; a new value moves
 * AWSCURRENT and keeps AWSPREVIOUS; state survives a restart; and the handlers' cached reader reads
 * through it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { emulatorConfig } from '#shared/aws/emulators';
import { cachedSecret, resetSecretCache } from '#shared/aws/secrets';
import { SECRETS } from '#shared/config/resources';
import { startSecretsManager, type LocalSecretsManager } from '#local/secretsmanager/server';
import { startLocalSecretsManager } from '#local/secretsmanager/service';

const dataDir = mkdtempSync(join(tmpdir(), 'cairn-secretsmanager-'));
let sm: LocalSecretsManager;
let client: SecretsManagerClient;
const open = async () => {
  sm = await startSecretsManager({ dataDir, region: 'eu-west-1' });
  client = new SecretsManagerClient({ ...emulatorConfig('secretsmanager', sm.endpoint, 'eu-west-1'), maxAttempts: 1 });
};
beforeAll(open);
afterAll(async () => {
  client?.destroy();
  await sm?.close();
});

describe('local Secrets Manager', () => {
  it('CreateSecret then GetSecretValue by name and by ARN: AWS shapes', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'cairn-test/one', SecretString: 's3cr3t', Description: 'd' }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:eu-west-1:000000000000:secret:cairn-test\/one-[A-Za-z0-9]{6}$/);
    expect(created.Name).toBe('cairn-test/one');
    expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    for (const id of ['cairn-test/one', created.ARN!, created.ARN!.slice(0, -7)]) {
      const got = await client.send(new GetSecretValueCommand({ SecretId: id }));
      expect(got, id).toMatchObject({
        ARN: created.ARN,
        Name: 'cairn-test/one',
        VersionId: created.VersionId,
        SecretString: 's3cr3t',
        VersionStages: ['AWSCURRENT'],
      });
      expect(got.CreatedDate).toBeInstanceOf(Date);
      expect(Math.abs(got.CreatedDate!.getTime() - Date.now())).toBeLessThan(60_000);
    }
    const d = await client.send(new DescribeSecretCommand({ SecretId: 'cairn-test/one' }));
    expect(d).toMatchObject({ ARN: created.ARN, Name: 'cairn-test/one', Description: 'd', VersionIdsToStages: { [created.VersionId!]: ['AWSCURRENT'] } });
  });

  it('an unknown secret is ResourceNotFoundException (a 400 with __type), as the SDK models it', async () => {
    const e = await client.send(new GetSecretValueCommand({ SecretId: 'cairn-test/missing' })).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ResourceNotFoundException);
    expect(e).toMatchObject({ name: 'ResourceNotFoundException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect((e as Error).message).toBe("Secrets Manager can't find the specified secret.");
    // The wire format itself: awsJson1_1 error body with __type.
    const res = await fetch(sm.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      body: JSON.stringify({ SecretId: 'cairn-test/missing' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await res.json()).toEqual({ __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." });
    const stage = await client.send(new GetSecretValueCommand({ SecretId: 'cairn-test/one', VersionStage: 'AWSPENDING' })).catch((err: unknown) => err);
    expect(stage).toBeInstanceOf(ResourceNotFoundException);
  });

  it('an existing name is ResourceExistsException; the retry of the request that created it succeeds', async () => {
    const token = 'a'.repeat(8) + '-bbbb-cccc-dddd-' + 'e'.repeat(12);
    const first = await client.send(new CreateSecretCommand({ Name: 'cairn-test/two', SecretString: 'v', ClientRequestToken: token }));
    const retry = await client.send(new CreateSecretCommand({ Name: 'cairn-test/two', SecretString: 'v', ClientRequestToken: token }));
    expect(retry.VersionId).toBe(first.VersionId);
    const e = await client.send(new CreateSecretCommand({ Name: 'cairn-test/two', SecretString: 'other' })).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ResourceExistsException);
    expect((e as Error).message).toBe('The operation failed because the secret cairn-test/two already exists.');
  });

  it('PutSecretValue makes a new AWSCURRENT and keeps the previous one as AWSPREVIOUS (rotation by hand)', async () => {
    const before = await client.send(new GetSecretValueCommand({ SecretId: 'cairn-test/one' }));
    const put = await client.send(new PutSecretValueCommand({ SecretId: 'cairn-test/one', SecretString: 'rotated' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'cairn-test/one' }))).SecretString).toBe('rotated');
    const prev = await client.send(new GetSecretValueCommand({ SecretId: 'cairn-test/one', VersionStage: 'AWSPREVIOUS' }));
    expect(prev).toMatchObject({ SecretString: 's3cr3t', VersionId: before.VersionId, VersionStages: ['AWSPREVIOUS'] });
  });

  it('keeps its secrets across a restart, in a file only its owner can read', async () => {
    client.destroy();
    await sm.close();
    await open();
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'cairn-test/one' }))).SecretString).toBe('rotated');
    expect(statSync(join(dataDir, 'secretsmanager', 'secrets.json')).mode & 0o077).toBe(0);
  });

  it("creates the stack's SECRETS (the webhook key's local value, a random 64-character suppression key kept across restarts) and the handlers' reader reads them", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-secretsmanager-stack-'));
    const before = process.env.CAIRN_ENDPOINT_SECRETSMANAGER;
    try {
      let local = await startLocalSecretsManager(dir);
      resetSecretCache();
      expect(await cachedSecret(SECRETS.webhook.name)()).toBe('dev-webhook-secret');
      const key = await cachedSecret(SECRETS.suppressionKey.name)();
      expect(key).toMatch(/^[A-Za-z0-9]{64}$/);
      await local.close();
      local = await startLocalSecretsManager(dir);
      resetSecretCache();
      expect(await cachedSecret(SECRETS.suppressionKey.name)()).toBe(key);
      await local.close();
      // Another install has another key.
      const other = await startLocalSecretsManager(mkdtempSync(join(tmpdir(), 'cairn-secretsmanager-other-')));
      resetSecretCache();
      expect(await cachedSecret(SECRETS.suppressionKey.name)()).not.toBe(key);
      await other.close();
    } finally {
      resetSecretCache();
      if (before === undefined) delete process.env.CAIRN_ENDPOINT_SECRETSMANAGER;
      else process.env.CAIRN_ENDPOINT_SECRETSMANAGER = before;
    }
  });
});
