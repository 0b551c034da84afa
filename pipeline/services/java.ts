import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
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

/** The home of the `java` first on PATH (through its symlinks: /usr/bin/java → /usr/lib/jvm/…/bin/java). */
function homeOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const bin = path.join(dir, 'java');
    if (!existsSync(bin)) continue;
    try {
      return path.dirname(path.dirname(realpathSync(bin)));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function candidates(): string[] {
  const homes = new Set<string>();
  for (const name of ['TALLY_JAVA_HOME', 'JAVA_HOME']) {
    const value = process.env[name];
    if (value) homes.add(value);
  }
  // Debian packages, Temurin's apt packages and tarballs, and SDKMAN
  const bases = ['/usr/lib/jvm', '/opt/java', '/usr/local/lib/jvm', ...(process.env.HOME ? [path.join(process.env.HOME, '.sdkman', 'candidates', 'java')] : [])];
  for (const base of bases) {
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base)) homes.add(path.join(base, entry));
  }
  const onPath = homeOnPath();
  if (onPath) homes.add(onPath);
  return [...homes].filter((home) => existsSync(path.join(home, 'bin', 'java')));
}

export function javaRuntimes(): JavaRuntime[] {
  cached ??= candidates()
    .map((home) => ({ home, java: path.join(home, 'bin', 'java'), specVersion: specVersionOf(path.join(home, 'bin', 'java')) ?? 0 }))
    .filter((runtime) => runtime.specVersion > 0);
  return cached;
}

/** How to get a Java of at least `min` on Debian: 17 is a Debian package; 21+ is not on bookworm, Temurin's apt repository has it. */
export function javaInstallHint(min: number): string {
  if (min <= 17) return 'Install openjdk-17-jdk-headless or set TALLY_JAVA_HOME.';
  return (
    `Install a Java ${min} or later JDK: openjdk-${min}-jdk-headless where your distribution packages it (Debian bookworm does not), ` +
    `or Eclipse Temurin (temurin-${min}-jdk from the apt repository https://packages.adoptium.net/artifactory/deb, or a tarball from https://adoptium.net unpacked under /opt/java); ` +
    'Tally looks in /usr/lib/jvm, /opt/java, /usr/local/lib/jvm, ~/.sdkman/candidates/java and at the java on PATH, or set TALLY_JAVA_HOME to its folder.'
  );
}

/** The preferred runtime within [min, max]: the lowest version that fits, which is what these servers are tested on. */
export function findJava(purpose: string, min: number, max = Number.MAX_SAFE_INTEGER): JavaRuntime {
  const fitting = javaRuntimes()
    .filter((runtime) => runtime.specVersion >= min && runtime.specVersion <= max)
    .sort((a, b) => a.specVersion - b.specVersion);
  const best = fitting[0];
  if (!best) {
    const seen = javaRuntimes().map((r) => `${r.home} (${r.specVersion})`).join(', ') || 'none';
    throw new TallyError('SERVICE_JAVA', `${purpose} needs Java ${min}${max === Number.MAX_SAFE_INTEGER ? '+' : `–${max}`}; found ${seen}. ${javaInstallHint(min)}`);
  }
  return best;
}
