/**
 * Structured JSON logs. Values under keys that can hold personal data are redacted before a line
 * is written, so no email, phone, name or address reaches CloudWatch or the terminal.
 * Inside an invocation (shared/metrics.ts `instrument`) every line also carries the Lambda
 * `requestId`, the `function` and, once known, the `correlationId` of the request that brought the
 * message in; a `correlationId` field passed explicitly wins.
 */
import { currentInvocation } from './metrics';

const PII_KEYS =
  /^(email|phone|name|first_?name|last_?name|address|street|city|zip|postal_?code|ip|birthday|traits|properties|context|userid|user_id|anonymousid|anonymous_id|previousid|value)$/i;

// Personal data can also hide inside free text (an error message quoting an address): scrub it.
const EMAIL_IN_TEXT = /[^\s@"'<>]+@[^\s@"'<>]+\.[^\s@"'<>]+/g;
const PHONE_IN_TEXT = /\+\d[\d ().-]{6,18}\d/g;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return value.replace(EMAIL_IN_TEXT, '[email]').replace(PHONE_IN_TEXT, '[phone]');
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = PII_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const threshold = (): number => order[(process.env.CAIRN_LOG_LEVEL as Level) ?? 'info'] ?? 20;

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const inv = currentInvocation();
  if (order[level] < Math.max(threshold(), inv?.dryRun ? order.error : 0)) return;
  const ctx = inv
    ? { function: inv.service, ...(inv.requestId ? { requestId: inv.requestId } : {}), ...(inv.correlationId ? { correlationId: inv.correlationId } : {}) }
    : undefined;
  const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...ctx, ...(redact(fields) as object) });
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');
}
