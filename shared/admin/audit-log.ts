/**
 * The admin router's observer that writes the audit log (shared/admin/audit.ts builds the rows).
 * The row is written before the answer leaves; a failed write is logged (request id and action,
 * never a parameter) and counted (METRIC.auditWriteFailures), and the request is answered anyway:
 * refusing an erasure because the audit write failed would be worse (docs/security.md#audit-log).
 */
import { randomUUID } from 'node:crypto';
import type { AdminObserver } from '../http';
import { log } from '../log';
import { count, METRIC } from '../metrics';
import { actorOf, auditRow, type LakeAuditRow } from './audit';

/** Where audit rows go (the lake on AWS and locally: shared/admin/s3-audit.ts). */
export interface AuditLog {
  put(row: LakeAuditRow): Promise<void>;
}

export function auditObserver(sink: AuditLog, now: () => Date = () => new Date()): AdminObserver {
  return async (o) => {
    const row = auditRow({
      routeKey: o.routeKey,
      // API Gateway always sends one; a hand-made event gets its own, so rows never share an object.
      requestId: o.event.requestContext?.requestId || randomUUID(),
      actor: actorOf(o.event),
      params: o.params,
      status: o.status,
      body: o.body,
      code: o.code,
      at: now(),
    });
    if (!row) return;
    try {
      await sink.put(row);
    } catch (e) {
      log('error', 'audit.write_failed', { action: row.action, requestId: row.request_id, error: (e as Error).message });
      count(METRIC.auditWriteFailures);
    }
  };
}
