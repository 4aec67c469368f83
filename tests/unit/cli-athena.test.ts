/**
 * The deployed-stack path of the CLI against stand-ins speaking the AWS wire protocols:
 * CloudFormation's query API (DescribeStacks, XML) and Athena's JSON 1.1 protocol. Verifies request
 * shapes, SigV4 signing being present, polling, paging and the result mapping — not real AWS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type Io } from '#cli/main';
import { athenaCell, athenaResult, pickOutput } from '#cli/aws';

interface Req {
  headers: IncomingMessage['headers'];
  url: string;
  body: string;
}
function server(handler: (r: Req) => { status?: number; type?: string; body: string }) {
  const seen: Req[] = [];
  const s: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const r = { headers: req.headers, url: req.url!, body };
      seen.push(r);
      const a = handler(r);
      res.writeHead(a.status ?? 200, { 'content-type': a.type ?? 'application/x-amz-json-1.1' });
      res.end(a.body);
    });
  });
  return {
    seen,
    start: () => new Promise<string>((ok) => s.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(s.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((ok) => s.close(() => ok())),
  };
}

const cfn = server((r) => {
  const p = new URLSearchParams(r.body);
  if (p.get('StackName') !== 'cairn-prod')
    return {
      status: 400,
      type: 'text/xml',
      body: `<ErrorResponse><Error><Code>ValidationError</Code><Message>Stack with id ${p.get('StackName')} does not exist</Message></Error></ErrorResponse>`,
    };
  return {
    type: 'text/xml',
    body: `<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>cairn-prod</StackName><Outputs>
      <member><OutputKey>CollectorUrl</OutputKey><OutputValue>https://abc.execute-api.eu-west-1.amazonaws.com</OutputValue></member>
      <member><OutputKey>AthenaWorkGroup</OutputKey><OutputValue>cairn-wg</OutputValue></member>
      <member><OutputKey>GlueDatabase</OutputKey><OutputValue>cairn_db</OutputValue></member>
    </Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`,
  };
});

let polls = 0;
const athena = server((r) => {
  const target = String(r.headers['x-amz-target']);
  const body = JSON.parse(r.body || '{}');
  if (target.endsWith('StartQueryExecution')) {
    if (/syntax error/.test(body.QueryString)) return { body: JSON.stringify({ QueryExecutionId: 'q-bad' }) };
    return { body: JSON.stringify({ QueryExecutionId: 'q-1' }) };
  }
  if (target.endsWith('GetQueryExecution')) {
    if (body.QueryExecutionId === 'q-bad')
      return {
        body: JSON.stringify({
          QueryExecution: { QueryExecutionId: 'q-bad', Status: { State: 'FAILED', StateChangeReason: "line 1:8: mismatched input 'syntax'" } },
        }),
      };
    polls++;
    return { body: JSON.stringify({ QueryExecution: { QueryExecutionId: 'q-1', Status: { State: polls < 3 ? 'RUNNING' : 'SUCCEEDED' } } }) };
  }
  if (target.endsWith('GetQueryResults')) {
    const meta = {
      ColumnInfo: [
        { Name: 'event', Label: 'event', Type: 'varchar' },
        { Name: 'n', Label: 'n', Type: 'bigint' },
        { Name: 'avg_total', Label: 'avg_total', Type: 'double' },
      ],
    };
    if (!body.NextToken)
      return {
        body: JSON.stringify({
          ResultSet: {
            ResultSetMetadata: meta,
            Rows: [
              { Data: [{ VarCharValue: 'event' }, { VarCharValue: 'n' }, { VarCharValue: 'avg_total' }] },
              { Data: [{ VarCharValue: 'Order, big' }, { VarCharValue: '2' }, { VarCharValue: '9.5' }] },
            ],
          },
          NextToken: 'page2',
        }),
      };
    return {
      body: JSON.stringify({
        ResultSet: { ResultSetMetadata: meta, Rows: [{ Data: [{ VarCharValue: 'Signup' }, { VarCharValue: '9007199254740993' }, {}] }] },
      }),
    };
  }
  return { status: 400, body: JSON.stringify({ __type: 'InvalidRequestException', message: `unexpected ${target}` }) };
});

const saved: Record<string, string | undefined> = {};
const env: Record<string, string> = {};
beforeAll(async () => {
  env.CAIRN_ENDPOINT_CLOUDFORMATION = await cfn.start();
  env.CAIRN_ENDPOINT_ATHENA = await athena.start();
  // The AWS SDK's credential chain reads the process environment.
  for (const [k, v] of Object.entries({ AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'eu-west-1' })) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  await Promise.all([cfn.stop(), athena.stop()]);
});

function io(): Io & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    stdout: (s: string) => void (o.out += s),
    stderr: (s: string) => void (o.err += s),
    readStdin: async () => '',
    env,
    cwd: mkdtempSync(join(tmpdir(), 'cairn-cli-')),
  };
  return o;
}

describe('cairn sql --stack (Athena)', () => {
  it('finds workgroup and database in the stack outputs, polls, pages and prints CSV', async () => {
    const o = io();
    const code = await run(
      [
        '--stack',
        'cairn-prod',
        'sql',
        "select event, count(*) n, avg(cast(json_extract_scalar(properties, '$.total') as double)) avg_total from events group by 1",
        '--format',
        'csv',
      ],
      o,
    );
    expect(o.err).toBe('');
    expect(code).toBe(0);
    expect(o.out).toBe('event,n,avg_total\r\n"Order, big",2,9.5\r\nSignup,9007199254740993,\r\n');
    // DescribeStacks was a signed query-API call.
    const d = cfn.seen[0]!;
    expect(new URLSearchParams(d.body).get('Action')).toBe('DescribeStacks');
    expect(String(d.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/cloudformation\/aws4_request/);
    const start = athena.seen.find((r) => String(r.headers['x-amz-target']).endsWith('StartQueryExecution'))!;
    expect(JSON.parse(start.body)).toMatchObject({ WorkGroup: 'cairn-wg', QueryExecutionContext: { Database: 'cairn_db' } });
    expect(athena.seen.filter((r) => String(r.headers['x-amz-target']).endsWith('GetQueryExecution')).length).toBe(3);
  });

  it('json output keeps big integers exact as strings', async () => {
    polls = 0;
    const o = io();
    expect(await run(['--stack', 'cairn-prod', '--workgroup', 'wg', '--database', 'db', 'sql', 'select 1', '--format', 'json'], o)).toBe(0);
    expect(JSON.parse(o.out)).toEqual([
      { event: 'Order, big', n: 2, avg_total: 9.5 },
      { event: 'Signup', n: '9007199254740993', avg_total: null },
    ]);
  });

  it('a failed Athena query exits 1 with its reason', async () => {
    const o = io();
    expect(await run(['--stack', 'cairn-prod', 'sql', 'select syntax error'], o)).toBe(1);
    expect(o.err).toBe("error: line 1:8: mismatched input 'syntax'\n");
  });

  it('an unknown stack exits 1 naming it', async () => {
    const o = io();
    expect(await run(['--stack', 'nope', 'sql', 'select 1'], o)).toBe(1);
    expect(o.err).toBe('error: stack nope: Stack with id nope does not exist\n');
  });
});

describe('Athena result mapping', () => {
  it('types values from the column info and drops the header row only when it is one', () => {
    expect(athenaCell('12', 'integer')).toBe(12);
    expect(athenaCell('true', 'boolean')).toBe(true);
    expect(athenaCell('1.50', 'decimal(10,2)')).toBe(1.5);
    expect(athenaCell(undefined, 'varchar')).toBeNull();
    const cols = [{ Name: 'x', Type: 'varchar' }];
    expect(athenaResult(cols, [[{ Data: [{ VarCharValue: 'x' }] }, { Data: [{ VarCharValue: 'a' }] }]]).rows).toEqual([['a']]);
    expect(athenaResult(cols, [[{ Data: [{ VarCharValue: 'a' }] }]]).rows).toEqual([['a']]);
  });
  it('picks stack outputs by key pattern in order', () => {
    const o = { CollectorUrl: 'https://c', ApiUrl: 'https://a', AthenaWorkGroup: 'wg' };
    expect(pickOutput(o, /^(admin_?)?api_?url$/i, /^collector_?url$/i)).toBe('https://a');
    expect(pickOutput(o, /work_?group/i)).toBe('wg');
    expect(pickOutput(o, /nothing/)).toBeUndefined();
  });
});
