import { messageOf } from '../../errors.js';
import { syntaxErrorAt } from '../accounting.js';

/** Why JSON.parse refused a text, in words with a column, as the accounting kind says it. */
export function jsonProblem(text: string, error: unknown): string {
  const at = syntaxErrorAt(text);
  if (at >= text.length) return `the JSON ends at column ${at + 1} before it is complete (truncated?)`;
  // V8's own words, without its echo of the input and its position (ours follows)
  const what = messageOf(error).replace(/, (?:\.\.\.)?".* is not valid JSON$/s, '').replace(/(?: in JSON)? at position \d+.*$/s, '');
  const before = text.slice(Math.max(0, at - 24), at);
  return `the text is not valid JSON: ${what.charAt(0).toLowerCase()}${what.slice(1)} at column ${at + 1}${before === '' ? '' : `, after \`${at > 24 ? '…' : ''}${before}\``}`;
}
