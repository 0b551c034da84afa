import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * A minimal glob, Go `filepath.Glob` style as Filebeat uses it: `*` and `?` never cross a `/`,
 * `[...]` is a character class (`[!...]` or `[^...]` negated), `**` as a whole segment matches zero
 * or more directories (at most `maxDepth` deep, Filebeat expands 8). `*` also matches a leading dot.
 * No brace expansion. Relative patterns resolve against the working directory.
 */
export interface CompiledGlob {
  pattern: string;
  /** the literal directory the walk starts from */
  base: string;
  /** the remaining segments: literal names, `**`, or a RegExp for one name */
  segments: (string | RegExp)[];
}

const globChars = /[*?[]/;

export function compileGlob(pattern: string): CompiledGlob {
  const absolute = path.resolve(pattern);
  const parts = absolute.split('/').filter((p) => p !== '');
  let index = 0;
  while (index < parts.length && !globChars.test(parts[index] ?? '')) index += 1;
  const base = `/${parts.slice(0, index).join('/')}`;
  const segments = parts.slice(index).map((part) => (part === '**' ? '**' : globChars.test(part) ? segmentRegExp(part) : part));
  return { pattern, base, segments };
}

/** One path segment's glob as an anchored RegExp. */
export function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i += 1) {
    const c = segment[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) {
        source += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Does an absolute path match the compiled glob? (Used by tests and to re-check single paths.) */
export function matchesGlob(glob: CompiledGlob, file: string, maxDepth = 8): boolean {
  const rel = path.relative(glob.base, path.resolve(file));
  if (rel.startsWith('..') || rel === '') return false;
  return matchSegments(glob.segments, rel.split('/'), maxDepth);
}

function matchSegments(segments: (string | RegExp)[], names: string[], depth: number): boolean {
  const [head, ...rest] = segments;
  if (head === undefined) return names.length === 0;
  if (head === '**') {
    for (let skip = 0; skip <= Math.min(depth, names.length); skip += 1) {
      if (matchSegments(rest, names.slice(skip), depth - skip)) return true;
    }
    return false;
  }
  const [name, ...others] = names;
  if (name === undefined) return false;
  if (typeof head === 'string' ? head !== name : !head.test(name)) return false;
  return matchSegments(rest, others, depth);
}

/** Every existing path (file or not; the caller stats) matching any pattern, deduplicated and sorted. */
export async function expandGlobs(globs: CompiledGlob[], maxDepth = 8): Promise<string[]> {
  const found = new Set<string>();
  for (const glob of globs) await walk(glob.base, glob.segments, maxDepth, found);
  return [...found].sort();
}

async function walk(dir: string, segments: (string | RegExp)[], depth: number, found: Set<string>): Promise<void> {
  const [head, ...rest] = segments;
  if (head === undefined) {
    found.add(dir);
    return;
  }
  if (typeof head === 'string' && head !== '**') {
    const next = path.join(dir, head);
    if (rest.length === 0) {
      if (await exists(next)) found.add(next);
    } else await walk(next, rest, depth, found);
    return;
  }
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  if (head === '**') {
    await walk(dir, rest, depth, found);
    if (depth <= 0) return;
    for (const entry of entries) {
      if (entry.isDirectory()) await walk(path.join(dir, entry.name), segments, depth - 1, found);
    }
    return;
  }
  for (const entry of entries) {
    if (!head.test(entry.name)) continue;
    const next = path.join(dir, entry.name);
    if (rest.length === 0) found.add(next);
    else if (entry.isDirectory() || entry.isSymbolicLink()) await walk(next, rest, depth, found);
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
