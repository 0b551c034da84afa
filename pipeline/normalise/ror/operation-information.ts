/**
 * The operation information field of a ROR operation-log line, after CSV decoding:
 * `key="value"&key="value"`. Values may hold commas, pipes, `&` and `=`; an unset value is `""`
 * (`""""` in the file); `globalpool` lists several values separated by commas. A value ends at the
 * quote that is followed by `&key="` or by the end of the field; a value holding any other quote is
 * refused. ROR does not escape quotes, so a value that itself holds `"&key="` reads as two pairs.
 */

export interface OperationInformation {
  /** every key with its value as written (several occurrences of one key joined with commas) */
  details: Record<string, string>;
  /** keys holding several values: globalpool split at its commas, and any key written more than once */
  lists: Record<string, string[]>;
}

export type OperationInformationResult = { ok: true; value: OperationInformation } | { ok: false; at: number; problem: string };

/** what the manual writes for an operation without information */
const noInformation = /^(?:|none\.?|-)$/i;
const keyOpening = /\s*([A-Za-z_][\w.-]*)\s*=\s*"/y;
const valueClosing = /"(?=\s*&\s*[A-Za-z_][\w.-]*\s*=\s*"|\s*$)/g;
const listKeys: ReadonlySet<string> = new Set(['globalpool']);
const maxKeys = 256;

export function parseOperationInformation(text: string): OperationInformationResult {
  const details = Object.create(null) as Record<string, string>;
  const lists = Object.create(null) as Record<string, string[]>;
  const field = text.trim();
  if (noInformation.test(field)) return { ok: true, value: { details, lists } };
  const seen = Object.create(null) as Record<string, string[]>;
  let at = 0;
  let count = 0;
  while (at < field.length) {
    keyOpening.lastIndex = at;
    const key = keyOpening.exec(field);
    if (!key) return { ok: false, at, problem: `expected key="value" at character ${at + 1}, found ${JSON.stringify(field.slice(at, at + 20))}` };
    const name = key[1] as string;
    const start = keyOpening.lastIndex;
    valueClosing.lastIndex = start;
    const closing = valueClosing.exec(field);
    if (!closing) return { ok: false, at: start, problem: `the value of ${name} opened at character ${start} is never closed by a quote followed by & or the end of the field` };
    if ((count += 1) > maxKeys) return { ok: false, at, problem: `more than ${maxKeys} keys` };
    const value = field.slice(start, closing.index);
    // ROR does not escape quotes in values: one inside is a broken pair (`a="x" b="y"`, no &) or an attempt to forge a key
    const quote = value.indexOf('"');
    if (quote !== -1) return { ok: false, at: start + quote, problem: `the value of ${name} holds a quote at character ${start + quote + 1} (a missing & between pairs?)` };
    (seen[name] ??= []).push(value);
    at = closing.index + 1;
    while (field[at] === ' ' || field[at] === '\t') at += 1;
    if (at < field.length) {
      if (field[at] !== '&') return { ok: false, at, problem: `expected & between pairs at character ${at + 1}` };
      at += 1;
    }
  }
  for (const name of Object.keys(seen)) {
    const values = seen[name] as string[];
    details[name] = values.join(',');
    if (values.length > 1) lists[name] = values.flatMap(splitList(name));
    else if (listKeys.has(name)) lists[name] = splitList(name)(values[0] as string);
  }
  return { ok: true, value: { details, lists } };
}

function splitList(name: string): (value: string) => string[] {
  return listKeys.has(name) ? (value) => value.split(',').map((v) => v.trim()).filter((v) => v !== '') : (value) => [value];
}
