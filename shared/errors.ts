/**
 * Typed errors. Every error a user can meet carries a stable `code` they can look up in
 * docs/errors.md, an HTTP status where it surfaces through an API, and a message that names
 * what is wrong (the field, the message index, the file).
 */
export class CairnError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CairnError';
  }
}

export const isCairnError = (e: unknown): e is CairnError => e instanceof CairnError;

/** Error body shared by every API: `{"success":false,"error":{"code","message"}}` (docs/errors.md). */
export function errorBody(e: CairnError): { success: false; error: { code: string; message: string } & Record<string, unknown> } {
  return { success: false, error: { code: e.code, message: e.message, ...(e.details ?? {}) } };
}
