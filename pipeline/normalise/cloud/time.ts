/** Times of the cloud records: epoch seconds (APEL text, cASO JSON) and ISO 8601 (StAR, energy). */

export function secondsToMillis(seconds: number): number {
  return seconds * 1000;
}

/** YYYY-MM of an instant, in UTC. */
export function monthOf(millis: number): string {
  const date = new Date(millis);
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The first instant of a calendar month, UTC. */
export function monthStart(year: number, month: number): number {
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999
  date.setUTCFullYear(year, month - 1, 1);
  return date.getTime();
}

/** the shapes ajv-formats' `iso-date-time` accepts; without an offset the time is UTC, as APEL's StAR parser reads it */
const isoDateTime = /^(\d{4})-(\d\d)-(\d\d)[Tt\s](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:[Zz]|([+-])(\d\d)(?::?(\d\d))?)?$/;

/** Milliseconds since the epoch (the fraction beyond milliseconds dropped), or undefined for text that is not such a date-time. */
export function parseIsoDateTime(text: string): number | undefined {
  const m = isoDateTime.exec(text);
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  if (date.getUTCMonth() !== Number(month) - 1 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return undefined;
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  const clock = ((Number(hour) * 60 + Number(minute) - offset) * 60 + Number(second)) * 1000;
  return date.getTime() + clock + (fraction === '' ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0')));
}
