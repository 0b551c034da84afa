import { domainCodec } from '../../avro.js';
import type { RejectionReason } from '../../dlq.js';
import type { NormalisedRecord } from '../types.js';
import type { CloudSource } from './source.js';

/** What a record builder knows besides the record's fields. */
export interface BuildContext {
  /** where the record came from, in words, for every reason: "apel-queue input on host h, record 2 of 3 at line 14" */
  origin: string;
  source: CloudSource;
  /** each field's text as written, when the input was text (APEL key: value, StAR): reasons quote it */
  written?: ReadonlyMap<string, string>;
}

/** One record's fate: a domain record, or every reason it was refused. */
export type BuildOutcome = { record: NormalisedRecord; reasons?: undefined } | { record?: undefined; reasons: RejectionReason[] };

/** A record type's builder: the same for the APEL-message and the cASO-JSON paths. */
export type RecordBuilder = (fields: Record<string, unknown>, context: BuildContext) => BuildOutcome;

/**
 * A built record whose values Avro cannot carry (an integer beyond ±(2^53 − 2), avsc's safe long
 * range) is refused here with the field named, so a record the normaliser gives always encodes.
 */
export function checkedForAvro(outcome: BuildOutcome, origin: string): BuildOutcome {
  if (!outcome.record) return outcome;
  const problems: RejectionReason[] = [];
  domainCodec(outcome.record.topic).type.isValid(outcome.record.value, {
    errorHook: (path, value) => problems.push({ code: 'RECORD_INVALID', rule: 'range', path: `/${path.join('/')}`, message: `\`${path.join('.')}\` is out of range, got ${JSON.stringify(value)} (${origin})` }),
  });
  return problems.length ? { reasons: problems } : outcome;
}

export function refused(reasons: RejectionReason[]): BuildOutcome {
  return { reasons };
}

/** A seconds count in hours. */
export function hours(seconds: number | null | undefined): number | null {
  return seconds === null || seconds === undefined ? null : seconds / 3600;
}

/** a × b, or null when either is absent */
export function times(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined ? null : a * b;
}

export function optional<T>(value: T | null | undefined): T | null {
  return value === undefined ? null : value;
}
