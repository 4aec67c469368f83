/**
 * Phone numbers to E.164 with libphonenumber-js. Parsing is the slowest step of normalisation, so
 * results are cached per distinct (country, raw value) for the life of the process (bounded).
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

const cache = new Map<string, string>();
const MAX_CACHE = 50_000;

/** The default country for numbers without a `+` prefix: `setting` (`CAIRN_DEFAULT_COUNTRY`) when it is a country code, else `US`. */
export function defaultCountry(setting: string | undefined): CountryCode {
  const c = (setting || 'US').trim().toUpperCase();
  return (/^[A-Z]{2}$/.test(c) ? c : 'US') as CountryCode;
}

/**
 * `raw` as E.164 (`+14155552671`) when it is a possible number for its country (or `country` when it
 * has no `+` prefix); otherwise `raw` trimmed and otherwise unchanged (identity resolution decides).
 */
export function normalizePhone(raw: string, country: CountryCode): string {
  const trimmed = raw.trim();
  if (trimmed === '') return trimmed;
  const key = country + '|' + trimmed;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let out = trimmed;
  try {
    const p = parsePhoneNumberFromString(trimmed, { defaultCountry: country });
    if (p?.isPossible()) out = p.number;
  } catch {
    // unparseable: keep trimmed
  }
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(key, out);
  return out;
}
