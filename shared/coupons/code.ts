/**
 * Coupon codes: how they are written, compared and generated.
 *
 * - Canonical form (what is stored, compared and looked up): upper case, without spaces and `-`,
 *   with the letters people confuse with digits read as those digits (`O` → `0`, `I`/`L` → `1`,
 *   Crockford's base 32 decoding). `spring-off`, `SPRING OFF` and `SPR1NG0FF` are one code, so a
 *   code read aloud or typed from a receipt is found, and two codes that differ only there cannot
 *   both be loaded.
 * - Loaded codes: 3 to 64 characters of letters, digits, `-`, `_`, `.` (and spaces between groups);
 *   they go into emails, SMS and URLs as they are, so nothing there needs escaping.
 * - Generated codes: 15 symbols of Crockford's base 32 (`0-9 A-Z` without `I L O U`) drawn from
 *   the operating system's CSPRNG — 75 bits, so a million issued codes leave a guesser one chance
 *   in 3.7 × 10^16 per try — and a check symbol (Luhn mod 32: every single mistyped symbol and most
 *   swaps of two neighbours are recognised), shown as `XXXX-XXXX-XXXX-XXXX`.
 */
import { randomBytes } from 'node:crypto';

export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Random symbols of a generated code (5 bits each). */
export const GENERATED_RANDOM_SYMBOLS = 15;
export const MIN_CODE_LENGTH = 3;
export const MAX_CODE_LENGTH = 64;

const LOADED_RE = /^[A-Za-z0-9_.](?:[A-Za-z0-9_. -]*[A-Za-z0-9_.])?$/;

/** The form codes are stored and compared in (see the file comment). */
export function canonicalCode(text: string): string {
  return text
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}

/** Why `code` cannot be a coupon code, or null when it can. */
export function codeProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'a code is text';
  const t = value.trim();
  if (!t) return 'empty code';
  if (t.length > MAX_CODE_LENGTH) return `longer than ${MAX_CODE_LENGTH} characters`;
  if (!LOADED_RE.test(t)) return 'only letters, digits, -, _ and . (spaces between groups) are allowed';
  if (canonicalCode(t).length < MIN_CODE_LENGTH) return `shorter than ${MIN_CODE_LENGTH} characters`;
  return null;
}

const value = (c: string) => CODE_ALPHABET.indexOf(c);

/** Luhn mod 32 over the symbols of `body` (canonical, in CODE_ALPHABET): the symbol that completes it. */
export function checkSymbol(body: string): string {
  const n = CODE_ALPHABET.length;
  let sum = 0;
  let factor = 2;
  for (let i = body.length - 1; i >= 0; i--) {
    const v = value(body[i]!);
    if (v < 0) throw new Error(`not a base-32 symbol: ${body[i]}`);
    const addend = factor * v;
    sum += Math.floor(addend / n) + (addend % n);
    factor = factor === 2 ? 1 : 2;
  }
  return CODE_ALPHABET[(n - (sum % n)) % n]!;
}

/** Whether a canonical code has the shape of a generated one (16 base-32 symbols). */
export const looksGenerated = (canonical: string): boolean => canonical.length === GENERATED_RANDOM_SYMBOLS + 1 && [...canonical].every((c) => value(c) >= 0);

/** Whether a canonical code of the generated shape has a correct check symbol (false: mistyped). */
export function checkSymbolOk(canonical: string): boolean {
  return looksGenerated(canonical) && checkSymbol(canonical.slice(0, -1)) === canonical.slice(-1);
}

/** `n` new codes, `XXXX-XXXX-XXXX-XXXX` (see the file comment). */
export function generateCodes(n: number, random: (size: number) => Buffer = randomBytes): string[] {
  const out: string[] = [];
  const bytes = random(n * GENERATED_RANDOM_SYMBOLS);
  for (let k = 0; k < n; k++) {
    let body = '';
    // 256 is a multiple of 32: the low 5 bits of a uniform byte are uniform.
    for (let i = 0; i < GENERATED_RANDOM_SYMBOLS; i++) body += CODE_ALPHABET[bytes[k * GENERATED_RANDOM_SYMBOLS + i]! & 31];
    const code = body + checkSymbol(body);
    out.push(code.match(/.{1,4}/g)!.join('-'));
  }
  return out;
}
