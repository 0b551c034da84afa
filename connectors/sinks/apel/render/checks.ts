import { TallyError } from '../../../../pipeline/errors.js';

/**
 * The value rules APEL's loader and its MySQL tables apply, checked before a record joins a
 * message: one bad record makes APEL reject the whole message, and the sender never hears of it.
 * Every failure is a RECORD_UNRENDERABLE naming the APEL field. Pure.
 */
export function unrenderable(field: string, problem: string, value?: unknown): never {
  const shown = value === undefined ? '' : ` (${JSON.stringify(value)?.slice(0, 80)})`;
  throw new TallyError('RECORD_UNRENDERABLE', `${field}: ${problem}${shown}`, { details: { field } });
}

/** Python datetime's range: APEL turns epoch seconds into a datetime and fails beyond year 9999. */
const maxEpochSeconds = 253_402_300_799;

/** Integer epoch seconds (APEL rejects fractions) from timestamp-millis. */
export function epochSeconds(field: string, millis: number): number {
  if (!Number.isFinite(millis)) unrenderable(field, 'is not a time', millis);
  const seconds = Math.floor(millis / 1000);
  if (seconds < 0 || seconds > maxEpochSeconds) unrenderable(field, 'is outside 1970-01-01..9999-12-31, which APEL cannot store', millis);
  return seconds;
}

/** ISO-8601 in UTC as Python's aware isoformat() writes it (cASO's StAR), milliseconds only when there are any. */
export function isoTime(field: string, millis: number): string {
  epochSeconds(field, millis);
  const iso = new Date(millis).toISOString();
  return `${millis % 1000 === 0 ? iso.slice(0, 19) : iso.slice(0, 23)}+00:00`;
}

export const int32Max = 2_147_483_647;

/** A plain decimal integer in [min, max] (APEL's int(): no '16.0', no exponent); BIGINT fits in a safe integer here. */
export function integer(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): string {
  if (!Number.isSafeInteger(value)) unrenderable(field, 'must be a whole number within ±2^53', value);
  if (value < min || value > max) unrenderable(field, `must be between ${min} and ${max}`, value);
  return String(value);
}

/** APEL's DECIMAL(10,3) columns (CpuCount, Benchmark, Count): finite, |x| < 10^7. */
export function decimal(field: string, value: number, min: number): number {
  if (!Number.isFinite(value)) unrenderable(field, 'must be a finite number (APEL reads nan and inf but cannot store them)', value);
  if (value < min || value > 9_999_999.999) unrenderable(field, `must be between ${min} and 9999999.999 (DECIMAL(10,3))`, value);
  return value;
}

/** A number as Python's str() or json.dumps writes a float: always with a fraction or an exponent (12 → 12.0). */
export function pythonFloat(value: number): string {
  const text = String(value);
  return /[.e]/.test(text) ? text.replace(/e([+-])(\d)$/, 'e$10$2') : `${text}.0`;
}

/** A number that cASO holds as an int when whole (CpuCount, Count): 8 → 8, 0.5 → 0.5. */
export function wholeOrDecimal(value: number): string {
  return Number.isInteger(value) ? String(value) : pythonFloat(value);
}

/** APEL's VARCHAR(n) columns: MySQL refuses longer strings and the whole message with them. */
export function limitedLength(field: string, value: string, max: number): string {
  if (value.length > max) unrenderable(field, `is ${value.length} characters, over the ${max} APEL stores`, `${value.slice(0, 40)}...`);
  return value;
}

/** APEL's check_for_null: '', 'none' and 'null' (any case) are read as NULL. */
export function readsAsNull(value: string): boolean {
  const lower = value.trim().toLowerCase();
  return lower === '' || lower === 'none' || lower === 'null';
}
