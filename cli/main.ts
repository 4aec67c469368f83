/**
 * `npx cairn`: the command-line interface (docs/cli.md). bin/cairn.js loads this file through tsx.
 *
 * Works on the local stack (`PORT`, `CAIRN_DATA_DIR`, same defaults as `npm start`) or on a deployed
 * stack (`--stack <name>` with AWS credentials from the environment). Exit codes: 0 success,
 * 1 failure (one-line reason on stderr), 2 usage error. `CAIRN_DEBUG=1` adds stack traces.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { CairnError } from '#shared/errors';
import { queryLocalLake, type QueryResult } from './lake';
import { describeStackOutputs, queryAthena, resolveStack, type AwsOptions } from './aws';
import { awsStatus } from './status-aws';
import { LAKE, SECRETS, STREAMS, TABLES } from '#shared/config';
import { identityConfig } from '#shared/identity';
import { FORMATS, formatResult, type Format } from './format';
import { adminGet, adminSend, answerError, type Target } from './http';
import { parseMessages, sendMessages } from './send';
import { applyPath } from './apply';
import { renderProfile, renderStatus } from './render';
import { registerReportCommand } from './reports';
import { registerExportCommand } from './export';
import { registerDemoCommand } from './demo';
import { registerKeysCommand } from './keys';
import { registerCouponsCommand } from './coupons';
import { registerJourneyCommands } from './journeys';
import { importFile, parseDelimiter, renderImportSummary, type ImportSummary } from './import';
import { registerReplayCommand } from './replay';
import { registerLakeCommand } from './compact';
import { registerPrivacyCommands } from './erase';
import { registerSuppressionCommands } from './suppression';
import { pathParam } from '#shared/http';

export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
  readStdin(): Promise<string>;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const processIo = (): Io => ({
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  env: process.env,
  cwd: process.cwd(),
});

export interface GlobalOptions {
  port: string;
  dataDir: string;
  writeKey: string;
  adminToken: string;
  stack?: string;
  region?: string;
  apiUrl?: string;
  workgroup?: string;
  database?: string;
}

const usage = (msg: string) => new CairnError('usage', msg, 400);

function awsOptions(g: GlobalOptions, env: NodeJS.ProcessEnv): AwsOptions {
  return {
    region: g.region,
    athenaEndpoint: env.CAIRN_ENDPOINT_ATHENA || undefined,
    cloudFormationEndpoint: env.CAIRN_ENDPOINT_CLOUDFORMATION || undefined,
    cloudWatchEndpoint: env.CAIRN_ENDPOINT_CLOUDWATCH || undefined,
    lambdaEndpoint: env.CAIRN_ENDPOINT_LAMBDA || undefined,
  };
}

function localTarget(g: GlobalOptions): Target {
  const port = Number(g.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw usage(`--port must be a TCP port, got ${JSON.stringify(g.port)}`);
  return { kind: 'local', baseUrl: `http://127.0.0.1:${port}`, writeKey: g.writeKey, adminToken: g.adminToken };
}

async function target(g: GlobalOptions, env: NodeJS.ProcessEnv): Promise<Target> {
  if (!g.stack) return localTarget(g);
  const aws = awsOptions(g, env);
  const s = await resolveStack(g.stack, { apiUrl: g.apiUrl }, aws, { api: true });
  return { kind: 'stack', baseUrl: s.apiUrl!, writeKey: g.writeKey, adminToken: g.adminToken, stackName: s.name, aws };
}

/** Runs SQL where the lake is: DuckDB over the local files, or Athena for a deployed stack. */
async function runSql(g: GlobalOptions, io: Io, sql: string): Promise<QueryResult> {
  if (!g.stack) {
    const dataDir = resolve(io.cwd, g.dataDir);
    if (!existsSync(dataDir)) throw new CairnError('no_data_dir', `no local data directory at ${dataDir} (run npm start first, or pass --data-dir)`, 404);
    return queryLocalLake(dataDir, sql);
  }
  const aws = awsOptions(g, io.env);
  const s = await resolveStack(g.stack, { workgroup: g.workgroup, database: g.database }, aws, { athena: true });
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  try {
    return await queryAthena(sql, { ...aws, workgroup: s.workgroup!, database: s.database, signal: ac.signal });
  } finally {
    process.off('SIGINT', stop);
  }
}

/** Where the lake, the streams, the privacy table and the suppression key are (replay, suppression rekey). */
interface Stores {
  bucket: string;
  streams: { raw: string; normalized: string };
  privacyTable?: string;
  /** The suppression key's secret: its ARN (stack output) or, locally, its name. */
  suppressionKeyId?: string;
}

/**
 * Locally the stack's emulators (`/_aws/endpoints`: the CLI's AWS clients talk to them, set before
 * their first use); on a deployed stack its outputs (`LakeBucket`, the stream and table names, the
 * suppression key's ARN).
 */
async function locateStores(g: GlobalOptions, env: NodeJS.ProcessEnv): Promise<Stores> {
  if (g.stack) {
    const outputs = await describeStackOutputs(g.stack, awsOptions(g, env));
    if (!outputs.LakeBucket) throw new CairnError('stack_output_missing', `stack ${g.stack} has no LakeBucket output`, 404);
    // Streams: the stack's outputs (infra/stack.ts); failed batches name their stream themselves.
    const privacyTable = outputs[`${TABLES.privacy.id}Name`];
    const suppressionKeyId = outputs[`${SECRETS.suppressionKey.id}Arn`];
    return {
      bucket: outputs.LakeBucket,
      streams: { raw: outputs.RawStreamName ?? STREAMS.raw.name, normalized: outputs.NormalizedStreamName ?? STREAMS.normalized.name },
      ...(privacyTable ? { privacyTable } : {}),
      ...(suppressionKeyId ? { suppressionKeyId } : {}),
    };
  }
  const a = await adminGet(localTarget(g), '/_aws/endpoints');
  if (a.status !== 200) throw answerError(a, 'cannot reach the local stack (is npm start running?)');
  const ep = a.json as { s3?: string; kinesis?: string; dynamodb?: string; secretsmanager?: string };
  const vars = {
    CAIRN_ENDPOINT_S3: ep.s3,
    CAIRN_ENDPOINT_KINESIS: ep.kinesis,
    CAIRN_ENDPOINT_DYNAMODB: ep.dynamodb,
    CAIRN_ENDPOINT_SECRETSMANAGER: ep.secretsmanager,
  };
  for (const [k, v] of Object.entries(vars)) {
    if (!v) continue;
    env[k] ??= v;
    if (env !== process.env) process.env[k] ??= v;
  }
  return {
    bucket: LAKE.localBucket,
    streams: { raw: STREAMS.raw.name, normalized: STREAMS.normalized.name },
    ...(ep.dynamodb ? { privacyTable: TABLES.privacy.name } : {}),
    ...(ep.secretsmanager ? { suppressionKeyId: SECRETS.suppressionKey.name } : {}),
  };
}

function parseFormat(f: string, allowed: readonly string[] = FORMATS): Format {
  if (!allowed.includes(f)) throw usage(`--format must be one of ${allowed.join(', ')}, got ${JSON.stringify(f)}`);
  return f as Format;
}

export function buildProgram(io: Io): Command {
  const env = io.env;
  const program = new Command('cairn')
    .description('Cairn command-line interface: send events, query the lake, inspect profiles and the pipeline')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addOption(new Option('--port <port>', 'local stack HTTP port').default(env.PORT || '4000'))
    .addOption(new Option('--data-dir <dir>', 'local stack data directory').default(env.CAIRN_DATA_DIR || '.cairn'))
    .addOption(new Option('--write-key <key>', 'write key for send').default(env.CAIRN_WRITE_KEY || 'dev-write-key'))
    .addOption(new Option('--admin-token <token>', 'bearer token for the local admin API').default(env.CAIRN_ADMIN_TOKEN || 'dev-admin-token'))
    .addOption(new Option('--stack <name>', 'deployed stack (CloudFormation name); AWS credentials from the environment').default(env.CAIRN_STACK || undefined))
    .addOption(new Option('--region <region>', 'AWS region of the deployed stack').default(env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined))
    .addOption(new Option('--api-url <url>', 'deployed stack API URL (default: stack output)').default(env.CAIRN_API_URL || undefined))
    .addOption(new Option('--workgroup <name>', 'Athena workgroup (default: stack output)').default(env.CAIRN_ATHENA_WORKGROUP || undefined))
    .addOption(new Option('--database <name>', 'Glue database (default: stack output, else cairn)').default(env.CAIRN_ATHENA_DATABASE || undefined));

  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

  program
    .command('send')
    .description('send messages (one, an array, {"batch":[...]} or JSON Lines) to the collector')
    .argument('<file>', 'JSON or JSON Lines file, or - for stdin')
    .action(async (file: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      let text: string;
      if (file === '-') text = await io.readStdin();
      else {
        const path = resolve(io.cwd, file);
        try {
          text = readFileSync(path, 'utf8');
        } catch (e) {
          throw new CairnError('usage', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 400);
        }
      }
      const input = parseMessages(text, file === '-' ? 'stdin' : file);
      const t = await target(g, env);
      const r = await sendMessages(t, input);
      io.stdout((r.requests === 1 ? JSON.stringify(r.answer) : JSON.stringify({ success: true, messages: r.messages, requests: r.requests })) + '\n');
    });

  program
    .command('sql')
    .description('run SQL over the lake (tables: events, quarantine, profiles)')
    .argument('<query>', 'SQL query')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .option('--max-width <n>', 'table format: cut cells longer than n characters (0: never)', '60')
    .action(async (query: string, o: { format: string; maxWidth: string }, cmd: Command) => {
      const format = parseFormat(o.format);
      const maxWidth = Number(o.maxWidth);
      if (!Number.isInteger(maxWidth) || maxWidth < 0) throw usage(`--max-width must be a whole number, got ${JSON.stringify(o.maxWidth)}`);
      if (!query.trim()) throw usage('empty query');
      const result = await runSql(globals(cmd), io, query);
      io.stdout(formatResult(result, format, maxWidth));
    });

  program
    .command('status')
    .description("pipeline lag, errors, failed batches and alarms: the local runtime's counters, or CloudWatch for --stack")
    .option('--format <format>', 'output format: table, json', 'table')
    .option('--window <minutes>', 'deployed stack: the CloudWatch window the figures cover, in minutes (1-1440)', '15')
    .option('--lake', 'deployed stack: also count the quarantine rows with Athena (a billed scan; needs Athena and lake read)')
    .action(async (o: { format: string; window: string; lake?: boolean }, cmd: Command) => {
      const format = parseFormat(o.format, ['table', 'json']);
      const windowMinutes = Number(o.window);
      if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > 1440)
        throw usage(`--window must be whole minutes from 1 to 1440, got ${JSON.stringify(o.window)}`);
      const g = globals(cmd);
      let status: object;
      let lake: { events?: number; quarantined: number } | undefined;
      if (g.stack) {
        // On AWS the state is CloudWatch's: the stack's alarms and the metrics they watch (docs/operations.md#status).
        status = await awsStatus(g.stack, awsOptions(g, env), { windowMinutes });
        if (o.lake) {
          try {
            // A count over all events would scan the whole lake (billed per byte): quarantine only.
            const counts = await runSql(g, io, 'SELECT count(*) AS quarantined FROM quarantine');
            lake = { quarantined: Number(counts.rows[0]?.[0] ?? 0) };
          } catch (e) {
            io.stderr(`note: lake figures omitted: ${(e as Error).message.split('\n')[0]}\n`);
          }
        }
      } else {
        const t = localTarget(g);
        const a = await adminGet(t, '/v1/status');
        if (a.status === 200) status = { home: 'local', ...((a.json ?? {}) as object) };
        else if (a.status === 404) {
          // Older local runtime without the status route: still report what the lake says.
          const health = await adminGet(t, '/health');
          if (health.status !== 200) throw answerError(health, 'stack is not healthy');
          io.stderr('note: this stack has no /v1/status route; showing lake figures only\n');
          status = { home: 'local', state: 'ready' };
        } else throw answerError(a, 'status request failed');
        try {
          const counts = await runSql(g, io, 'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM quarantine) AS quarantined');
          const [events, quarantined] = (counts.rows[0] ?? [0, 0]).map((v) => Number(v ?? 0)) as [number, number];
          lake = { events, quarantined };
        } catch (e) {
          // The stack answered; a lake we cannot read (e.g. another --data-dir) should not hide its figures.
          if (!(e instanceof CairnError) || e.code !== 'no_data_dir') throw e;
          io.stderr(`note: ${e.message}; lake figures omitted\n`);
        }
      }
      io.stdout(format === 'json' ? JSON.stringify({ ...status, ...(lake ? { lake } : {}) }, null, 2) + '\n' : renderStatus(status, lake));
    });

  program
    .command('apply')
    .description('validate and apply computed traits, segments and journeys (YAML/JSON files or a directory)')
    .argument('<path>', 'a .yaml/.yml/.json file or a directory of them')
    .action(async (path: string, _o: unknown, cmd: Command) => {
      const t = await target(globals(cmd), env);
      const applied = await applyPath(t, path, io.cwd, io.stdout, env);
      const n = (r: string) => applied.filter((a) => a.result === r).length;
      io.stderr(`applied ${applied.length} definition(s): ${n('created')} created, ${n('updated')} updated, ${n('unchanged')} unchanged\n`);
    });

  program
    .command('import')
    .description('bulk import a CSV or JSON Lines file (CRM export, orders) as identify or track messages')
    .argument('<file>', '.csv (delimiter , ; or tab, detected) or .jsonl/.ndjson')
    .requiredOption('--type <type>', 'identify (one profile update per row) or track (one event per row)')
    .option('--event <name>', 'track: the event name of every row (or --map Column=event)')
    .option(
      '--map <column=field>',
      'where a column goes: traits.<x>, properties.<x>, context.<x>, userId, anonymousId, timestamp, event, messageId, an identifier type (crm_id), or - to skip; repeatable',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--only-mapped', 'import only the columns given with --map')
    .option('--delimiter <char>', 'CSV delimiter: , ; or tab (default: detected from the header)')
    .option('--rejects <path>', 'where bad rows go (default: <file>.rejects.csv next to the input)')
    .option('--format <format>', 'summary format: table, json', 'table')
    .option('--progress <mode>', 'auto (a bar on a terminal, else a line every 5 s), bar, lines, none', 'auto')
    .action(
      async (
        file: string,
        o: { type: string; event?: string; map: string[]; onlyMapped?: boolean; delimiter?: string; rejects?: string; format: string; progress: string },
        cmd: Command,
      ) => {
        const format = parseFormat(o.format, ['table', 'json']);
        if (o.type !== 'identify' && o.type !== 'track') throw usage(`--type must be identify or track, got ${JSON.stringify(o.type)}`);
        if (!['auto', 'bar', 'lines', 'none'].includes(o.progress))
          throw usage(`--progress must be auto, bar, lines or none, got ${JSON.stringify(o.progress)}`);
        const tty = io.env === process.env && Boolean(process.stderr.isTTY);
        const t = await target(globals(cmd), env);
        let summary: ImportSummary;
        try {
          summary = await importFile(t, {
            file,
            cwd: io.cwd,
            type: o.type,
            event: o.event,
            map: o.map,
            onlyMapped: o.onlyMapped,
            delimiter: o.delimiter === undefined ? undefined : parseDelimiter(o.delimiter),
            rejects: o.rejects,
            progress: o.progress === 'auto' ? (tty ? 'bar' : 'lines') : (o.progress as 'bar' | 'lines' | 'none'),
            stderr: io.stderr,
          });
        } catch (e) {
          const partial = e instanceof CairnError ? (e.details?.summary as ImportSummary | undefined) : undefined;
          // stdout stays empty on failure (exit 1): what was done goes to stderr before the reason.
          if (partial) io.stderr(format === 'json' ? JSON.stringify(partial, null, 2) + '\n' : renderImportSummary(partial));
          throw e;
        }
        io.stdout(format === 'json' ? JSON.stringify(summary, null, 2) + '\n' : renderImportSummary(summary));
      },
    );

  registerReportCommand(program, {
    runSql: (cmd, sql) => runSql(globals(cmd), io, sql),
    dialect: (cmd) => (globals(cmd).stack ? 'athena' : 'duckdb'),
    stdout: io.stdout,
    adminGet: async (cmd, path) => adminGet(await target(globals(cmd), env), path),
    cwd: io.cwd,
  });

  registerKeysCommand(program, { target: (cmd) => target(globals(cmd), env), stdout: io.stdout, stderr: io.stderr });
  registerJourneyCommands(program, {
    target: (cmd) => target(globals(cmd), env),
    runSql: (cmd, sql) => runSql(globals(cmd), io, sql),
    stdout: io.stdout,
    stderr: io.stderr,
    cwd: io.cwd,
    vars: env,
  });

  registerCouponsCommand(program, { target: (cmd) => target(globals(cmd), env), stdout: io.stdout, stderr: io.stderr, cwd: io.cwd });

  registerDemoCommand(program, { stdout: io.stdout, stderr: io.stderr, env, cwd: io.cwd });

  registerReplayCommand(program, {
    identityConfig: () => identityConfig(env.CAIRN_IDENTITY_CONFIG || undefined),
    stdout: io.stdout,
    stderr: io.stderr,
    locate: (cmd) => locateStores(globals(cmd), env),
  });

  registerLakeCommand(program, { stdout: io.stdout, locate: (cmd) => locateStores(globals(cmd), env) });

  registerSuppressionCommands(program, {
    stdout: io.stdout,
    stderr: io.stderr,
    locate: async (cmd) => {
      const where = await locateStores(globals(cmd), env);
      if (!where.privacyTable || !where.suppressionKeyId)
        throw new CairnError('stack_output_missing', 'the stack names no privacy table or suppression key (deploy the current stack)', 404);
      return { privacyTable: where.privacyTable, suppressionKeyId: where.suppressionKeyId };
    },
  });

  registerExportCommand(program, { target: (cmd) => target(globals(cmd), env), stdout: io.stdout, stderr: io.stderr, cwd: io.cwd });

  const profile = program.command('profile').description('profiles');
  profile
    .command('get')
    .description('show a profile by identifier (type:value, e.g. email:ada@example.com)')
    .argument('<identifier>', 'type:value')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (identifier: string, o: { format: string }, cmd: Command) => {
      const format = parseFormat(o.format, ['table', 'json']);
      const i = identifier.indexOf(':');
      if (i <= 0 || i === identifier.length - 1) throw usage(`identifier must be type:value (e.g. email:ada@example.com), got ${JSON.stringify(identifier)}`);
      const t = await target(globals(cmd), env);
      const a = await adminGet(t, `/v1/profiles/${pathParam(identifier)}`);
      if (a.status === 404) throw new CairnError('profile_not_found', `no profile for ${identifier}`, 404);
      if (a.status === 401 || a.status === 403)
        throw new CairnError('unauthorized', `${a.status}: admin credentials rejected (check --admin-token / CAIRN_ADMIN_TOKEN)`, a.status);
      if (a.status !== 200) throw answerError(a, 'profile request failed');
      io.stdout(format === 'json' ? JSON.stringify(a.json, null, 2) + '\n' : renderProfile(a.json));
    });
  profile
    .command('unmerge')
    .description('split a profile along a recorded merge (docs/identity.md#undoing-a-merge)')
    .argument('<identifier>', 'type:value of the profile (of the side to split off, to pick its merge)')
    .option('--merged <profileId>', 'the merged-away profile to split off, when the profile has several recorded merges')
    .option('--block <identifier...>', 'identifiers (type:value) to block so the same wrong link is not made again')
    .option('--format <format>', 'output format: table, json', 'table')
    .action(async (identifier: string, o: { merged?: string; block?: string[]; format: string }, cmd: Command) => {
      const format = parseFormat(o.format, ['table', 'json']);
      const i = identifier.indexOf(':');
      if (i <= 0 || i === identifier.length - 1) throw usage(`identifier must be type:value (e.g. email:ada@example.com), got ${JSON.stringify(identifier)}`);
      const t = await target(globals(cmd), env);
      const a = await adminSend(t, 'POST', `/v1/profiles/${pathParam(identifier)}/unmerge`, {
        ...(o.merged ? { merged: o.merged } : {}),
        ...(o.block?.length ? { block: o.block } : {}),
      });
      if (a.status !== 200) throw answerError(a, 'unmerge request failed');
      const r = a.json as {
        survivor: { profileId: string; identities: string[] };
        merged: { profileId: string; identities: string[] };
        blocked: string[];
        movedEvents: number;
      };
      io.stdout(
        format === 'json'
          ? JSON.stringify(r, null, 2) + '\n'
          : [
              `survivor  ${r.survivor.profileId}  ${r.survivor.identities.join(' ')}`,
              `split off ${r.merged.profileId}  ${r.merged.identities.join(' ')}`,
              `moved events ${r.movedEvents}${r.blocked.length ? `, blocked ${r.blocked.join(' ')}` : ''}`,
              '',
            ].join('\n'),
      );
    });
  registerPrivacyCommands(program, profile, { target: (cmd) => target(globals(cmd), env), stdout: io.stdout, stderr: io.stderr, cwd: io.cwd });

  return program;
}

/** Runs the CLI with `argv` (without the node and script entries); resolves to the exit code. */
export async function run(argv: string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help asked for → 0; bad usage (commander already wrote the one-line reason) → 2.
      return e.exitCode === 0 ? 0 : 2;
    }
    const err = e as Error;
    const code = err instanceof CairnError ? err.code : undefined;
    io.stderr(`error: ${(err.message || String(e)).split('\n')[0]}\n`);
    if (io.env.CAIRN_DEBUG === '1' && err.stack) io.stderr(err.stack + '\n');
    return code === 'usage' ? 2 : 1;
  }
}

/** Entry point used by bin/cairn.js. */
export async function main(): Promise<void> {
  const code = await run(process.argv.slice(2));
  process.exitCode = code;
}
