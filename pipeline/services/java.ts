import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { TallyError } from '../errors.js';

export interface JavaRuntime {
  home: string;
  java: string;
  specVersion: number;
}

let cached: JavaRuntime[] | undefined;

function specVersionOf(javaBin: string): number | undefined {
  // the JVM prints its settings on stderr
  const result = spawnSync(javaBin, ['-XshowSettings:properties', '-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  return parseSpec(`${result.stdout ?? ''}${result.stderr ?? ''}`);
}

function parseSpec(text: string): number | undefined {
  const match = /java\.specification\.version = ([0-9.]+)/.exec(text);
  if (!match?.[1]) return undefined;
  const version = match[1].startsWith('1.') ? match[1].slice(2) : match[1];
  return Number.parseInt(version, 10);
}

function candidates(): string[] {
  const homes = new Set<string>();
  for (const name of ['TALLY_JAVA_HOME', 'JAVA_HOME']) {
    const value = process.env[name];
    if (value) homes.add(value);
  }
  for (const base of ['/usr/lib/jvm', '/opt/java', '/usr/local/lib/jvm']) {
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base)) homes.add(path.join(base, entry));
  }
  return [...homes].filter((home) => existsSync(path.join(home, 'bin', 'java')));
}

export function javaRuntimes(): JavaRuntime[] {
  cached ??= candidates()
    .map((home) => ({ home, java: path.join(home, 'bin', 'java'), specVersion: specVersionOf(path.join(home, 'bin', 'java')) ?? 0 }))
    .filter((runtime) => runtime.specVersion > 0);
  return cached;
}

/** The preferred runtime within [min, max]: the lowest version that fits, which is what these servers are tested on. */
export function findJava(purpose: string, min: number, max = Number.MAX_SAFE_INTEGER): JavaRuntime {
  const fitting = javaRuntimes()
    .filter((runtime) => runtime.specVersion >= min && runtime.specVersion <= max)
    .sort((a, b) => a.specVersion - b.specVersion);
  const best = fitting[0];
  if (!best) {
    const seen = javaRuntimes().map((r) => `${r.home} (${r.specVersion})`).join(', ') || 'none';
    throw new TallyError('SERVICE_JAVA', `${purpose} needs Java ${min}${max === Number.MAX_SAFE_INTEGER ? '+' : `–${max}`}; found ${seen}. Install openjdk-17-jdk-headless or set TALLY_JAVA_HOME.`);
  }
  return best;
}
