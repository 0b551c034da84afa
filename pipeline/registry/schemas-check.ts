import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type avro from 'avsc';
import { schemaDir } from '../avro.js';
import { TallyError } from '../errors.js';
import { projectRoot } from '../paths.js';
import type { RegistryClient } from './client.js';
import { fullTransitiveProblems, type CompatibilityProblem, type Direction } from './compatibility.js';
import { valueSubject } from './serde.js';

/** One domain schema of this checkout against what came before it. */
export interface SchemaCheck {
  topic: string;
  /** what it was compared with: a subject of a registry, or a git revision */
  against: string;
  /** how many earlier versions were compared (0: the topic is new there) */
  earlier: number;
  problems: (CompatibilityProblem & { direction: Direction; version: number })[];
  /** the registry's own verdict, where a registry was asked */
  registry?: { compatible: boolean; messages: string[] };
}

export function localSchemas(dir = schemaDir): { topic: string; schema: avro.Schema }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort()
    .map((f) => {
      return { topic: f.slice(0, -'.avsc'.length), schema: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as avro.Schema };
    });
}

/** Every local schema against every version registered under `<topic>-value`, and the registry's verdict. */
export async function checkAgainstRegistry(client: RegistryClient, physicalTopic: (logical: string) => string): Promise<SchemaCheck[]> {
  const checks: SchemaCheck[] = [];
  for (const { topic, schema } of localSchemas()) {
    const subject = valueSubject(physicalTopic(topic));
    const earlier = (await client.versions(subject)).map((text) => JSON.parse(text) as avro.Schema);
    const verdict = await client.checkCompatibility(subject, JSON.stringify(schema));
    checks.push({ topic, against: `${client.url} subject ${subject}`, earlier: earlier.length, problems: fullTransitiveProblems(schema, earlier), registry: verdict });
  }
  return checks;
}

/**
 * What the schemas are compared with when there is no registry: the latest release tag before HEAD;
 * else HEAD itself when schemas/avro has uncommitted changes; else HEAD's parent (the last change).
 */
export function previousRevision(root = projectRoot): string {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return git('describe', '--tags', '--abbrev=0', 'HEAD^');
  } catch {
    /* no release tag yet */
  }
  try {
    if (git('status', '--porcelain', '--', 'schemas/avro') !== '') return 'HEAD';
    return git('rev-parse', '--short', 'HEAD^');
  } catch (error) {
    throw new TallyError('USAGE', `no earlier revision to compare the schemas with (is ${root} a git checkout with history?); give one with --against <revision>`, { cause: error });
  }
}

/** Every local schema against the same file at a git revision (a topic without a file there is new). */
export function checkAgainstRevision(revision: string, root = projectRoot): SchemaCheck[] {
  return localSchemas(path.join(root, 'schemas', 'avro')).map(({ topic, schema }) => {
    let earlier: avro.Schema | undefined;
    try {
      const text = execFileSync('git', ['show', `${revision}:schemas/avro/${topic}.avsc`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      earlier = JSON.parse(text) as avro.Schema;
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '');
      if (!/does not exist|exists on disk, but not in/.test(stderr)) throw new TallyError('USAGE', `cannot read schemas/avro/${topic}.avsc at git revision ${revision}: ${stderr.trim() || (error as Error).message}`, { cause: error });
    }
    return { topic, against: `git ${revision}`, earlier: earlier ? 1 : 0, problems: earlier ? fullTransitiveProblems(schema, [earlier]) : [] };
  });
}
