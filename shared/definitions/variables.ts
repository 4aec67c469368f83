/**
 * Apply-time variables in definition files: `${CAIRN_NAME}` or `${CAIRN_NAME:-default}` inside any
 * string value is replaced, when the file is read, by the variable's value in the environment of
 * the process reading it (`npx cairn apply` passes its own), else by the default. So one file can
 * point a webhook at a different receiver per machine (`url: "${CAIRN_CRM_WEBHOOK_URL:-https://…}"`).
 *
 * Kept safe and predictable:
 * - Only names starting with `CAIRN_` are variables; any other `${…}` is plain text. Names that
 *   look like credentials (a `_`-separated word TOKEN, SECRET, PASSWORD, KEY, CREDENTIALS, or
 *   Cairn's own `CAIRN_ADMIN_TOKEN`, `CAIRN_WRITE_KEY`, `CAIRN_WEBHOOK_SECRET`) are refused, so a
 *   definitions file from elsewhere cannot copy a secret into a webhook URL or an email.
 * - Values are substituted into parsed string values, never into the YAML text: a value cannot
 *   add fields or documents.
 * - A variable that is unset (or empty) and has no default is an error naming the field.
 * - `$${` is a literal `${`.
 * - The stack never substitutes: a definition sent to the admin API is stored as it is.
 * See docs/definitions.md#variables.
 */
import type { Path } from './issues';

export type Variables = Readonly<Record<string, string | undefined>>;

/** `$${…}` (escaped) or `${CAIRN_NAME}` / `${CAIRN_NAME:-default}`; the default runs to the first `}`. */
const VARIABLE = /\$(\$)?\{(CAIRN_[A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const CREDENTIAL_WORDS = new Set(['TOKEN', 'TOKENS', 'SECRET', 'SECRETS', 'PASSWORD', 'PASSWORDS', 'PASSWD', 'KEY', 'KEYS', 'CREDENTIAL', 'CREDENTIALS']);

/** Why `name` may not be used as a variable, or undefined. */
function refusal(name: string): string | undefined {
  if (!/^CAIRN_[A-Z0-9_]+$/.test(name)) return `\${${name}}: variable names are CAIRN_ followed by capital letters, digits and _`;
  if (name.split('_').some((w) => CREDENTIAL_WORDS.has(w))) return `\${${name}}: looks like a credential; variables cannot read secrets, tokens or keys`;
  return undefined;
}

/** True when `text` uses an apply-time variable (an escaped `$${` does not count). */
export function hasVariables(text: string): boolean {
  for (const m of text.matchAll(VARIABLE)) if (!m[1]) return true;
  return false;
}

/**
 * `doc` with every variable in its string values replaced from `vars` (else the default), and the
 * problems found, each with the path of the field. `vars` undefined: defaults only.
 */
export function resolveVariables(doc: unknown, vars?: Variables): { value: unknown; problems: { path: Path; message: string }[] } {
  const problems: { path: Path; message: string }[] = [];
  const walk = (v: unknown, path: Path): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return v;
      return v.replace(VARIABLE, (all, escaped: string | undefined, name: string, fallback: string | undefined) => {
        if (escaped) return all.slice(1);
        const refused = refusal(name);
        if (refused) {
          problems.push({ path, message: refused });
          return all;
        }
        const value = vars?.[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        problems.push({ path, message: `\${${name}} is not set: set ${name} in the environment of npx cairn apply, or give a default: \${${name}:-value}` });
        return all;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      // defineProperty: a `__proto__` key stays a plain field, as the parser made it.
      for (const [k, x] of Object.entries(v))
        Object.defineProperty(out, k, { value: walk(x, [...path, k]), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return v;
  };
  const value = walk(doc, []);
  return { value, problems };
}
