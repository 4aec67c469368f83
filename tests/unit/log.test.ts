import { afterEach, describe, expect, it, vi } from 'vitest';
import { log, redact } from '#shared/log';

describe('redacting logger: no personal data in logs', () => {
  afterEach(() => vi.restoreAllMocks());

  it('redacts values under keys that hold personal data, at any depth', () => {
    const out = redact({
      requestId: 'r-1',
      email: 'mia@example.com',
      nested: { traits: { firstName: 'Mia' }, userId: 'u-1', count: 3, items: [{ phone: '+14155550100', sku: 'S-1' }] },
    });
    expect(out).toEqual({
      requestId: 'r-1',
      email: '[redacted]',
      nested: { traits: '[redacted]', userId: '[redacted]', count: 3, items: [{ phone: '[redacted]', sku: 'S-1' }] },
    });
  });

  it('scrubs emails and phone numbers inside free text, and leaves timestamps and ids alone', () => {
    expect(redact('lookup failed for Mia.Lee+promo@Example.co.uk at 2026-11-25T10:00:00.000Z')).toBe('lookup failed for [email] at 2026-11-25T10:00:00.000Z');
    expect(redact('sms to +1 (415) 555-0100 refused; order A-1024')).toBe('sms to [phone] refused; order A-1024');
  });

  it('writes one JSON line without the personal data', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => (lines.push(String(chunk)), true));
    log('warn', 'profile resolved', { profileId: 'p-1', email: 'mia@example.com', error: 'no consent for mia@example.com' });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 'warn', msg: 'profile resolved', profileId: 'p-1', email: '[redacted]', error: 'no consent for [email]' });
    expect(lines[0]).not.toContain('mia@example.com');
  });
});
