import type { RawEnvelope } from '../../envelope.js';

/**
 * Civil date-times (the fields a log line writes) to epoch milliseconds, in a zone: the line's own
 * offset when it has one, otherwise the input's configured zone (`fields.timezone` on the envelope:
 * an IANA name such as Europe/Paris or a fixed offset such as +09:00), otherwise UTC.
 */

export interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** the digits after the decimal point, as written ('' for none) */
  fraction: string;
  /** minutes east of UTC when the text carries an offset */
  offsetMinutes?: number;
}

/** A zone turns a zone-less civil time into an instant. */
export interface Zone {
  name: string;
  /** minutes east of UTC in force at the civil time given as if it were UTC */
  offsetAtLocal(localMillis: number): number;
}

export const utc: Zone = { name: 'UTC', offsetAtLocal: () => 0 };

const fixedOffset = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d\d))?$/;
const zones = new Map<string, Zone | null>();

/** A zone by name: UTC, Z, a fixed offset (+09:00, -0530, UTC+1) or an IANA name; null when it is none of these. */
export function zoneNamed(name: string): Zone | null {
  const cached = zones.get(name);
  if (cached !== undefined) return cached;
  const zone = resolveZone(name.trim());
  if (zones.size < 256) zones.set(name, zone);
  return zone;
}

function resolveZone(name: string): Zone | null {
  if (name === '') return null;
  if (/^(?:UTC|GMT|Z|Etc\/UTC)$/i.test(name)) return utc;
  const fixed = fixedOffset.exec(name);
  if (fixed) {
    const minutes = Number(fixed[2]) * 60 + Number(fixed[3] ?? 0);
    if (Number(fixed[2]) > 18 || Number(fixed[3] ?? 0) > 59) return null;
    const offset = fixed[1] === '-' ? -minutes : minutes;
    return { name, offsetAtLocal: () => offset };
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  } catch {
    return null;
  }
  const offsetAtInstant = (instant: number): number => {
    const parts = format.formatToParts(new Date(instant));
    const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
    const local = civilUtcMillis(part('year'), part('month'), part('day'), part('hour'), part('minute'), part('second'));
    return Math.round((local - Math.floor(instant / 1000) * 1000) / 60_000);
  };
  return {
    name,
    // two rounds settle every instant but the hour a DST change skips, which takes the later offset
    offsetAtLocal(localMillis) {
      const first = offsetAtInstant(localMillis);
      return offsetAtInstant(localMillis - first * 60_000);
    },
  };
}

/** The zone an envelope's input is configured with (`fields.timezone`), the fallback when it names none, null when it names an unknown one. */
export function envelopeZone(envelope: RawEnvelope, fallback: Zone = utc): Zone | null {
  const fields = envelope.fields;
  const name = fields && typeof fields === 'object' ? (fields as Record<string, unknown>).timezone : undefined;
  return typeof name === 'string' ? zoneNamed(name) : fallback;
}

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** the calendar and the clock hold (no 31 April, no 24:00, no 60th minute; a leap second 60 is refused too) */
export function isValidCivil(t: CivilTime): boolean {
  if (!(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.hour <= 23 && t.minute <= 59 && t.second <= 59)) return false;
  const max = t.month === 2 && isLeap(t.year) ? 29 : (daysInMonth[t.month - 1] as number);
  return t.day <= max && (t.offsetMinutes === undefined || Math.abs(t.offsetMinutes) <= 18 * 60);
}

function civilUtcMillis(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000;
}

/** Epoch milliseconds (the fraction beyond milliseconds cut, never rounded); undefined when the calendar or clock does not hold. */
export function civilToMillis(t: CivilTime, zone: Zone): number | undefined {
  if (!isValidCivil(t)) return undefined;
  const local = civilUtcMillis(t.year, t.month, t.day, t.hour, t.minute, t.second) + (t.fraction === '' ? 0 : Number(t.fraction.slice(0, 3).padEnd(3, '0')));
  const offset = t.offsetMinutes ?? zone.offsetAtLocal(local);
  return local - offset * 60_000;
}

/** `Z`, `+0900`, `+09:00`, `+09`, `-05:30` → minutes east of UTC; undefined for none. */
export function offsetMinutesOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === 'Z' || text === 'z') return 0;
  const m = /^([+-])(\d\d):?(\d\d)?$/.exec(text);
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

/**
 * The ISO-like date-times OpenStack and ROR write: `2013-08-29 19:03:45.960280`,
 * `2014-02-14T01:20:47.932842+00:00`, `2016-11-11T18:31:11.156356+0000`, `2012-10-29T13:42:11Z`,
 * `2012-04-01T00:00:00.000+0900`, `2012/04/01 10:00:00`, `2012-04-01 T00:00:00.000+0900` (the ROR
 * manual's own spelling of its pattern), a comma before the fraction (`2025-05-14 11:26:23,154`).
 */
const isoLike = /^(\d{4})([-/])(\d\d)\2(\d\d)(?:[Tt ]| T)(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?\s?([Zz]|[+-]\d\d(?::?\d\d)?)?$/;

export function parseIsoLike(text: string): CivilTime | undefined {
  const m = isoLike.exec(text);
  if (!m) return undefined;
  const offsetMinutes = offsetMinutesOf(m[9]);
  return {
    year: Number(m[1]),
    month: Number(m[3]),
    day: Number(m[4]),
    hour: Number(m[5]),
    minute: Number(m[6]),
    second: Number(m[7]),
    fraction: m[8] ?? '',
    ...(offsetMinutes !== undefined ? { offsetMinutes } : {}),
  };
}

/** parseIsoLike then civilToMillis; undefined for text that is not such a date-time or not a real one. */
export function isoLikeToMillis(text: string, zone: Zone): number | undefined {
  const civil = parseIsoLike(text);
  return civil === undefined ? undefined : civilToMillis(civil, zone);
}
