/**
 * `import.rows_per_s`: `cairn import` of a generated CRM export (`rows` customers, identify, mixed-case
 * emails, local phone formats, blank cells) into a local stack, end to end into profiles: rows accepted
 * divided by the time from the start of the import until every stream consumer (normalize, resolve…)
 * has processed them all (`stack.drain`). A sample of profiles is checked by crm_id afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../local/stack';
import { importFile } from '../cli/import';
import type { Result } from './run';

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
    const t0 = Date.now();
    const s = await importFile(
      { kind: 'local', baseUrl: stack.url, writeKey: 'dev-write-key', adminToken: 'dev-admin-token' },
      { file, type: 'identify', map: ['Email=traits.email', 'Mobile=traits.phone', 'CustomerNo=crm_id'] },
    );
    const sentMs = Date.now() - t0;
    if (!(await stack.drain(30 * 60_000))) throw new Error('import bench: the pipeline did not drain');
    const seconds = (Date.now() - t0) / 1000;
    if (s.accepted !== rows) throw new Error(`import bench: ${s.accepted} of ${rows} rows accepted (${s.rejected} rejected: ${s.firstRejects[0]?.reason})`);
    for (const i of [0, Math.floor(rows / 2), rows - 1]) {
      const r = await fetch(`${stack.url}/v1/profiles/${encodeURIComponent(`crm_id:C${i}`)}`, { headers: { authorization: 'Bearer dev-admin-token' } });
      const p = (await r.json().catch(() => ({}))) as { traits?: { email?: string } };
      if (r.status !== 200 || p.traits?.email !== `bench${i}@example.com`) throw new Error(`import bench: profile crm_id:C${i} missing or wrong (${r.status})`);
    }
    process.stderr.write(`import: ${rows} rows sent in ${(sentMs / 1000).toFixed(1)} s, in profiles after ${seconds.toFixed(1)} s\n`);
    return [{ name: 'import.rows_per_s', value: Math.round(s.accepted / seconds), unit: 'rows/s' }];
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
