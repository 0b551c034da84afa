/**
 * Every body ssmsend sends must decode as ASCII (it runs `text.decode('ascii')` on each message and
 * a failure stops every later run at that message). JSON and XML carry any character losslessly as
 * escapes; APEL's key: value text has no escape, so its values are transliterated. Pure.
 */

const replacements: Record<string, string> = {
  ß: 'ss', Æ: 'AE', æ: 'ae', Ø: 'O', ø: 'o', Œ: 'OE', œ: 'oe', Đ: 'D', đ: 'd', Ð: 'D', ð: 'd', Ł: 'L', ł: 'l', Þ: 'Th', þ: 'th', ı: 'i', Ħ: 'H', ħ: 'h', ŋ: 'ng', Ŋ: 'NG', ĸ: 'q',
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'", '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u00ab': '"', '\u00bb': '"', '\u2033': '"',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-', '\u2026': '...', '\u2022': '*', '\u00b7': '.',
  '\u20ac': 'EUR', '\u00a3': 'GBP', '\u00a5': 'JPY', '\u00a9': '(c)', '\u00ae': '(R)', '\u2122': 'TM', '\u00b0': 'deg', '\u00d7': 'x', '\u00f7': '/', '\u00bf': '?', '\u00a1': '!',
};

const combiningMarks = /\p{M}/gu;
const nonAscii = /[^\x00-\x7f]/;

export function isAscii(text: string): boolean {
  return !nonAscii.test(text);
}

/** Closest ASCII: accents dropped (é → e), ligatures and letters NFKD keeps spelled out (ß → ss, ł → l), anything else '?'. */
export function transliterate(text: string): string {
  if (isAscii(text)) return text;
  let out = '';
  for (const char of text.normalize('NFKD').replace(combiningMarks, '')) {
    const code = char.codePointAt(0) ?? 0;
    out += code < 0x80 ? char : (replacements[char] ?? replacements[char.normalize('NFC')] ?? '?');
  }
  return out;
}

/**
 * A value for one `Key: Value` line of APEL text, as APEL will read it back: ASCII, no line break
 * or other control character (Python's splitlines() also splits at \v \f \x1c-\x1e), no `%%` (the
 * record separator, found anywhere), no surrounding space (APEL strips it).
 */
export function keyValueText(value: string): string {
    return transliterate(value).replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/%{2,}/g, '%').trim();
}

/** A JSON string literal as Python's json.dumps writes it (ensure_ascii): every character outside space..~ escaped. */
export function jsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 0x22) out += '\\"';
    else if (code === 0x5c) out += '\\\\';
    else if (code >= 0x20 && code <= 0x7e) out += text[i];
    else if (code === 0x0a) out += '\\n';
    else if (code === 0x0d) out += '\\r';
    else if (code === 0x09) out += '\\t';
    else if (code === 0x08) out += '\\b';
    else if (code === 0x0c) out += '\\f';
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** Characters XML 1.0 cannot carry at all, not even as references: become U+FFFD. */
const notXml = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function xmlEscape(text: string, attribute: boolean): string {
  let out = '';
  for (const char of text.replace(notXml, '\ufffd')) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '&') out += '&amp;';
    else if (char === '<') out += '&lt;';
    else if (char === '>') out += '&gt;';
    else if (attribute && char === '"') out += '&quot;';
    else if (attribute && (char === '\n' || char === '\r' || char === '\t')) out += `&#${code};`;
    else if (code > 0x7e) out += `&#${code};`;
    else out += char;
  }
  return out;
}

/** Element text with the escapes ElementTree writes (&amp; &lt; &gt;) and decimal references for non-ASCII, as cASO's us-ascii output. */
export function xmlText(text: string): string {
  return xmlEscape(text, false);
}

/** An attribute value for a double-quoted attribute; line breaks as references so parsers do not normalise them to spaces. */
export function xmlAttribute(text: string): string {
  return xmlEscape(text, true);
}
