/**
 * `import.rows_per_s`: `cairn import` of a generated CRM export (`rows` customers, identify, mixed-case
 * emails, local phone formats, blank cells) into a local stack, end to end into profiles: rows accepted
 * divided by the time from the start of the import until every stream consumer (normalize, resolve…)
 * has processed them all (`stack.drain`). A sample of profiles is checked by crm_id afterwards.
 *
 * Beside the rate, what does not depend on what else the machine runs (docs/benchmarks.md, Import):
 * `import.cpu_ms_per_row` (CPU of the whole process, every thread: the CLI, collect, the pollers,
 * the functions, the emulators), `import.dynamodb_requests_per_row` and `import.wcu_per_row`
 * (DynamoDB requests and write units of the stack's handlers). stderr gets the breakdown: requests
 * per row by operation, CPU per row by thread, stage times and the load average.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '#local/stack';
import { importFile } from '#cli/import';
import { requestCounts, resetRequestCounts } from '#shared/aws/clients';
import type { Result } from './result';

/** CPU ms used so far by each thread of this process, by thread name (Linux; empty elsewhere). */
export function threadCpuMs(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      let name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (tid === String(process.pid)) name = 'main (CLI, HTTP, collect, pollers)';
      else if (name === 'node') name = 'other (V8 GC/compiler, libuv pool: LevelDB)';
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) * 10;
    }
  } catch {
    /* not Linux */
  }
  return out;
}

export function customersCsv(rows: number): string {
  const out = ['CustomerNo,Email,Mobile,First Name,City,Points'];
  for (let i = 0; i < rows; i++) {
    const n = String(i % 10_000).padStart(4, '0');
    const ex = 201 + Math.floor(i / 10_000); // distinct valid US numbers
    const phone = [`(415) ${ex}-${n}`, `415.${ex}.${n}`, `+1 415 ${ex} ${n}`, ''][i % 4];
    out.push([`C${i}`, i % 3 ? `bench${i}@example.com` : `Bench${i}@Example.COM`, phone, `Name${i}`, i % 5 ? 'Berlin' : '', String(i)].join(','));
  }
  return out.join('\r\n') + '\r\n';
}

export async function benchImport(rows: number): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-import-'));
  const stack = await startLocalStack({ port: 0, dataDir: join(dir, 'data') });
  try {
    const file = join(dir, 'customers.csv');
    writeFileSync(file, customersCsv(rows));
    resetRequestCounts();
    const cpu0 = threadCpuMs();
    const load0 = loadavg()[0]!;
    const t0 = Date.now();
    const s = await importFile(
      { kind: 'local', baseUrl: stack.url, writeKey: 'dev-write-key', adminToken: 'dev-admin-token' },
      { file, type: 'identify', map: ['Email=traits.email', 'Mobile=traits.phone', 'CustomerNo=crm_id'] },
    );
    const sentMs = Date.now() - t0;
    if (!(await stack.drain(30 * 60_000))) throw new Error('import bench: the pipeline did not drain');
    const seconds = (Date.now() - t0) / 1000;
    const cpu1 = threadCpuMs();
    const counts = new Map(requestCounts);
    const status = await stack.status();
    if (s.accepted !== rows) throw new Error(`import bench: ${s.accepted} of ${rows} rows accepted (${s.rejected} rejected: ${s.firstRejects[0]?.reason})`);
    for (const i of [0, Math.floor(rows / 2), rows - 1]) {
      const r = await fetch(`${stack.url}/v1/profiles/${encodeURIComponent(`crm_id:C${i}`)}`, { headers: { authorization: 'Bearer dev-admin-token' } });
      const p = (await r.json().catch(() => ({}))) as { traits?: { email?: string } };
      if (r.status !== 200 || p.traits?.email !== `bench${i}@example.com`) throw new Error(`import bench: profile crm_id:C${i} missing or wrong (${r.status})`);
    }
    const perRow = (n: number) => +(n / s.accepted).toFixed(3);
    const cpu: Record<string, number> = {};
    let cpuTotal = 0;
    for (const [k, v] of Object.entries(cpu1)) {
      const d = v - (cpu0[k] ?? 0);
      cpuTotal += d;
      if (d > 0) cpu[k] = perRow(d);
    }
    const ddb: Record<string, number> = {};
    let ddbRequests = 0;
    for (const [k, v] of counts) {
      if (!k.startsWith('dynamodb.') || k === 'dynamodb.rcu' || k === 'dynamodb.wcu') continue;
      ddb[k.slice('dynamodb.'.length)] = perRow(v);
      ddbRequests += v;
    }
    const other = Object.fromEntries(
      [...counts].filter(([k]) => !k.startsWith('dynamodb.') && !k.startsWith('identity.') && !k.startsWith('billing.')).map(([k, v]) => [k, perRow(v)]),
    );
    const fns = status.functions as Record<string, { invocations: number; avgDurationMs: number }>;
    process.stderr.write(
      `import: ${rows} rows sent in ${(sentMs / 1000).toFixed(1)} s, in profiles after ${seconds.toFixed(1)} s; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n` +
        `import: per row: DynamoDB requests ${JSON.stringify(ddb)}, write units ${perRow(counts.get('dynamodb.wcu') ?? 0)} (resolve ${perRow(counts.get('identity.wcu') ?? 0)}), read units ${perRow(counts.get('dynamodb.rcu') ?? 0)}; other ${JSON.stringify(other)}\n` +
        `import: CPU ms per row ${perRow(cpuTotal)}: ${JSON.stringify(cpu)}\n` +
        `import: resolve ${fns.resolve?.invocations ?? 0} invocations, ${fns.resolve?.avgDurationMs ?? 0} ms each; normalize ${fns.normalize?.invocations ?? 0}, ${fns.normalize?.avgDurationMs ?? 0} ms\n`,
    );
    return [
      { name: 'import.rows_per_s', value: Math.round(s.accepted / seconds), unit: 'rows/s' },
      { name: 'import.cpu_ms_per_row', value: perRow(cpuTotal), unit: 'CPU ms/row' },
      { name: 'import.dynamodb_requests_per_row', value: perRow(ddbRequests), unit: 'requests/row' },
      { name: 'import.wcu_per_row', value: perRow(counts.get('dynamodb.wcu') ?? 0), unit: 'WCU/row' },
    ];
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
