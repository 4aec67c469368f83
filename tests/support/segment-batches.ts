/**
 * For tests that feed λ resolve batches by hand (the identity store in memory so a write can be
 * placed exactly): the emulators for the suite, and normalized messages one second apart with the
 * batch records carrying them.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResources, startEmulators, useEndpoints, type Emulators } from '#local/emulators';
import type { BatchRecord } from '#shared/identity/resolve';
import type { NormalizedMessage } from '#shared/message/types';

/** Starts the emulators with the stack's resources for the enclosing suite (data under `cairn-<name>-…`). */
export function useEmulators(name: string): void {
  let emu: Emulators | undefined;
  beforeAll(async () => {
    emu = await startEmulators(join(mkdtempSync(join(tmpdir(), `cairn-${name}-`)), 'emu'));
    useEndpoints(emu.endpoints);
    await createResources();
  }, 60_000);
  afterAll(async () => {
    await emu?.close();
  });
}

/** Messages `<tag>-<n>` one second apart from `T` (default: an hour ago), and records with increasing sequence numbers from `firstSeq`. */
export function messageStream(tag: string, firstSeq: number, T = Date.now() - 3_600_000) {
  let seq = firstSeq;
  let n = 0;
  const msg = (p: Partial<NormalizedMessage> & Pick<NormalizedMessage, 'type'>): NormalizedMessage => ({
    messageId: `${tag}-${++n}`,
    properties: {},
    traits: {},
    context: {},
    sourceId: 'src',
    timestamp: new Date(T + n * 1000).toISOString(),
    receivedAt: new Date(T + n * 1000 + 50).toISOString(),
    ...p,
  });
  const records = (msgs: NormalizedMessage[]): BatchRecord[] => msgs.map((message) => ({ message, seq: String(++seq) }));
  return { T, msg, records };
}
