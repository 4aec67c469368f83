/**
 * normalize.events_per_s: the normalize stage's CPU work on one core, in-process — decode the
 * Kinesis record (base64 → UTF-8 → JSON), validate and normalise, build the lake row and gzip the
 * batch's JSON Lines — without the I/O, which the end-to-end figure covers.
 */
import { randomUUID } from 'node:crypto';
import { normalizeEnvelope } from '#shared/normalize';
import { defaultCountryFromEnv } from '#functions/env';
import { encodeJsonLines, toEventRow } from '#shared/lake/index';
import { syntheticMessages } from './events';
import type { Result } from './result';

export async function benchNormalize(n: number): Promise<Result[]> {
  const receivedAt = new Date().toISOString();
  const country = defaultCountryFromEnv();
  const records = syntheticMessages(n).map((m) =>
    Buffer.from(JSON.stringify({ message: { ...m, messageId: randomUUID(), receivedAt }, sourceId: 'bench', receivedAt })).toString('base64'),
  );
  const run = () => {
    let ok = 0;
    for (let i = 0; i < records.length; i += 500) {
      const rows = [];
      for (const data of records.slice(i, i + 500)) {
        const res = normalizeEnvelope(JSON.parse(Buffer.from(data, 'base64').toString('utf8')), country);
        if (res.ok) {
          rows.push(toEventRow(res.message));
          ok++;
        }
      }
      encodeJsonLines(rows);
    }
    return ok;
  };
  run(); // warm-up (JIT, phone metadata)
  const t0 = performance.now();
  const ok = run();
  const s = (performance.now() - t0) / 1000;
  if (ok !== n) throw new Error(`normalize bench: ${n - ok} of ${n} synthetic messages were rejected`);
  return [{ name: 'normalize.events_per_s', value: Math.round(n / s), unit: 'events/s' }];
}
