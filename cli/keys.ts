/**
 * `npx cairn keys ...`: sources and their write keys through the admin API (docs/security.md).
 *
 *   keys list                                        sources, trust levels and keys (never a secret)
 *   keys create <source> --trust <level> [--name n]  a new source and its first write key (shown once)
 *   keys trust <source> <server|browser>             what the source's messages may assert
 *   keys rotate <source> [--overlap 24h]             a new key; the old ones keep working until now+overlap
 *   keys revoke <source> <keyId>                     refuse a key from now on (warm collectors within 60 s)
 *
 * On a deployed stack (`--stack`) the requests are SigV4-signed (IAM); locally they carry the token.
 */
import type { Command } from 'commander';
import { CairnError } from '#shared/errors';
import { formatTable } from './format';
import { adminGet, adminSend, answerError, type Answer, type Target } from './http';

export interface KeysDeps {
  target(cmd: Command): Promise<Target>;
  stdout(s: string): void;
  stderr(s: string): void;
}

interface KeyInfo {
  keyId: string;
  createdAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  status: string;
}
interface SourceInfo {
  sourceId: string;
  name: string;
  enabled: boolean;
  trust: string;
  keys: KeyInfo[];
}
interface RotateAnswer {
  sourceId: string;
  trust?: string;
  keyId: string;
  writeKey: string;
  createdAt: string;
  previous: { keyId: string; expiresAt: string }[];
}

const usage = (msg: string) => new CairnError('usage', msg, 400);

function check(a: Answer, ok: number, what: string): void {
  if (a.status === 401 || a.status === 403) {
    throw new CairnError(
      'unauthorized',
      `${a.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN, or your IAM permissions for --stack)`,
      a.status,
    );
  }
  if (a.status !== ok) throw answerError(a, `${what} failed`);
}

function formatOf(f: string): 'table' | 'json' {
  if (f !== 'table' && f !== 'json') throw usage(`--format must be table or json, got ${JSON.stringify(f)}`);
  return f;
}

function trustOf(t: string | undefined): 'server' | 'browser' {
  if (t === 'server' || t === 'browser') return t;
  throw usage(
    `${t === undefined ? 'say' : `trust must be server or browser, got ${JSON.stringify(t)}: say`} what the source may assert: --trust server (a secret key your servers hold) or --trust browser (a key shipped in pages or apps)`,
  );
}

export function renderSources(sources: SourceInfo[]): string {
  if (sources.length === 0) return 'no sources\n';
  const rows = sources.flatMap((s) =>
    (s.keys.length ? s.keys : [undefined]).map((k) => [
      s.sourceId,
      s.name,
      s.enabled,
      s.trust,
      k?.keyId ?? null,
      k?.status ?? null,
      k?.createdAt ?? null,
      k?.expiresAt ?? null,
    ]),
  );
  const names = ['source', 'name', 'enabled', 'trust', 'key_id', 'status', 'created_at', 'expires_at'];
  return formatTable({ columns: names.map((name) => ({ name, type: '' })), rows }, 60);
}

function renderRotation(r: RotateAnswer, verb: string): string {
  const lines = [`${verb} write key ${r.keyId} for source ${r.sourceId}${r.trust ? ` (trust: ${r.trust})` : ''} (shown once, store it now):`, r.writeKey];
  for (const p of r.previous) lines.push(`previous key ${p.keyId} stays valid until ${p.expiresAt}`);
  return lines.join('\n') + '\n';
}

export function registerKeysCommand(program: Command, deps: KeysDeps): void {
  const keys = program.command('keys').description('sources and their write keys: list, create, rotate (with an overlap window), revoke');

  keys
    .command('list')
    .description('list sources, their trust levels and keys (no secrets)')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (o: { format: string }, cmd: Command) => {
      const format = formatOf(o.format);
      const a = await adminGet(await deps.target(cmd), '/v1/sources');
      check(a, 200, 'listing sources');
      const sources = (a.json as { sources?: SourceInfo[] } | undefined)?.sources ?? [];
      deps.stdout(format === 'json' ? JSON.stringify(sources, null, 2) + '\n' : renderSources(sources));
    });

  keys
    .command('create')
    .description('create a source with its first write key (printed once)')
    .argument('<source>', 'source id (letters, digits, . _ -)')
    .option('--trust <level>', 'required: server (a secret key your servers hold) or browser (a key shipped in pages or apps)')
    .option('--name <name>', 'display name (default: the id)')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (source: string, o: { name?: string; format: string; trust?: string }, cmd: Command) => {
      const format = formatOf(o.format);
      const trust = trustOf(o.trust);
      const a = await adminSend(await deps.target(cmd), 'POST', `/v1/sources/${encodeURIComponent(source)}/keys`, {
        create: true,
        trust,
        ...(o.name ? { name: o.name } : {}),
      });
      check(a, 201, 'creating the source');
      const r = a.json as RotateAnswer;
      deps.stdout(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderRotation(r, 'new'));
    });

  keys
    .command('rotate')
    .description('issue a new write key; the old keys keep working for the overlap window, then get 401')
    .argument('<source>', 'source id')
    .option('--overlap <duration>', 'how long the old keys stay valid: 0, 30m, 24h, 7d (max 30d)', '24h')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (source: string, o: { overlap: string; format: string }, cmd: Command) => {
      const format = formatOf(o.format);
      const a = await adminSend(await deps.target(cmd), 'POST', `/v1/sources/${encodeURIComponent(source)}/keys`, { overlap: o.overlap });
      if (a.status === 404) throw new CairnError('source_not_found', `no source ${source} (create it with: cairn keys create ${source})`, 404);
      check(a, 201, 'rotating the key');
      const r = a.json as RotateAnswer;
      deps.stdout(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderRotation(r, 'new'));
    });

  keys
    .command('trust')
    .description("set what a source's messages may assert: server (believed) or browser (limited; docs/security.md#source-trust)")
    .argument('<source>', 'source id')
    .argument('<level>', 'server or browser')
    .action(async (source: string, level: string, _o: unknown, cmd: Command) => {
      const trust = trustOf(level);
      const a = await adminSend(await deps.target(cmd), 'PUT', `/v1/sources/${encodeURIComponent(source)}/trust`, { trust });
      if (a.status === 404) throw new CairnError('source_not_found', `no source ${source} (create it with: cairn keys create ${source} --trust ${trust})`, 404);
      check(a, 200, 'setting the trust level');
      const r = a.json as { trust: string; effectiveWithinSeconds?: number };
      deps.stdout(`source ${source} is now trusted as ${r.trust}\n`);
      deps.stderr(`note: collectors that looked its keys up recently apply it within ${r.effectiveWithinSeconds ?? 60} s\n`);
    });

  keys
    .command('revoke')
    .description('revoke a write key now (see keys list for ids)')
    .argument('<source>', 'source id')
    .argument('<keyId>', 'key id (key_...)')
    .action(async (source: string, keyId: string, _o: unknown, cmd: Command) => {
      const a = await adminSend(await deps.target(cmd), 'DELETE', `/v1/sources/${encodeURIComponent(source)}/keys/${encodeURIComponent(keyId)}`);
      check(a, 200, 'revoking the key');
      const r = a.json as KeyInfo & { effectiveWithinSeconds?: number };
      deps.stdout(`revoked ${r.keyId} of source ${source} at ${r.revokedAt}\n`);
      deps.stderr(`note: collectors that looked the key up recently refuse it within ${r.effectiveWithinSeconds ?? 60} s\n`);
    });
}
