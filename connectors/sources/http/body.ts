/** One event of a request body: the text that becomes the envelope's message. */
export interface BodyEvent {
  message: string;
}

export interface BodyProblem {
  line?: number;
  reason: string;
}

export type ParsedBody = { events: BodyEvent[] } | { problems: BodyProblem[] };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A JSON object, a JSON array of objects, or NDJSON (one object per line). The whole body is
 * accepted or rejected: a client that gets 400 can fix and resend without creating duplicates.
 */
export function parseBody(bytes: Buffer, contentType: string | undefined): ParsedBody {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { problems: [{ reason: 'the body is not valid UTF-8' }] };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return { problems: [{ reason: 'the body is empty' }] };
  const ndjson = /ndjson|jsonlines|x-json-stream/i.test(contentType ?? '');
  if (!ndjson) {
    try {
      const value: unknown = JSON.parse(text);
      if (Array.isArray(value)) {
        const problems = value.flatMap((item, i) => (isObject(item) ? [] : [{ line: i + 1, reason: `element ${i + 1} of the array must be a JSON object, got ${describe(item)}` }]));
        if (problems.length) return { problems };
        return { events: value.map((item) => ({ message: JSON.stringify(item) })) };
      }
      if (isObject(value)) return { events: [{ message: text.trim() }] };
      return { problems: [{ reason: `the body must be a JSON object, an array of objects or NDJSON, got ${describe(value)}` }] };
    } catch (error) {
      if (!text.includes('\n')) return { problems: [{ reason: `the body is not valid JSON: ${(error as Error).message}` }] };
      // several lines that are not one JSON document: read as NDJSON
    }
  }
  const events: BodyEvent[] = [];
  const problems: BodyProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    try {
      const value: unknown = JSON.parse(line);
      if (isObject(value)) events.push({ message: line });
      else problems.push({ line: i + 1, reason: `line ${i + 1} must be a JSON object, got ${describe(value)}` });
    } catch (error) {
      problems.push({ line: i + 1, reason: `line ${i + 1} is not valid JSON: ${(error as Error).message}` });
    }
  });
  if (problems.length) return { problems };
  if (events.length === 0) return { problems: [{ reason: 'the body holds no event' }] };
  return { events };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
