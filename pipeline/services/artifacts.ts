import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TallyError } from '../errors.js';
import { projectRoot } from '../paths.js';

const run = promisify(execFile);
const dependencyPlugin = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1';
const kafkaPom = path.join(projectRoot, 'pipeline/services/kafka-broker.pom.xml');

/** Runs Maven; artifacts land in ~/.m2 too, so a second fetch works offline. */
async function maven(args: string[], what: string): Promise<void> {
  try {
    await run('mvn', ['-B', '-q', ...args], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: string };
    const tail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
    const hint = e.code === 'ENOENT' ? ' (mvn is not installed: apt-get install maven)' : '';
    throw new TallyError('SERVICE_ARTIFACT', `could not fetch ${what} from Maven Central${hint}:\n${tail}`, { cause: error });
  }
}

/** Build into a temporary sibling, then rename: a crash never leaves a half artifact that looks whole. */
async function materialise(target: string, build: (tmp: string) => Promise<void>): Promise<string> {
  if (existsSync(target)) return target;
  const tmp = `${target}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await build(tmp);
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return target;
}

/** The broker classpath (a folder of jars) for a Kafka version. */
export async function kafkaLibs(cacheDir: string, version: string): Promise<string> {
  const dir = await materialise(path.join(cacheDir, `kafka-${version}`), async (tmp) => {
    await maven(['-f', kafkaPom, `${dependencyPlugin}:copy-dependencies`, '-DincludeScope=runtime', `-Dkafka.version=${version}`, `-DoutputDirectory=${path.join(tmp, 'libs')}`], `Kafka ${version}`);
  });
  return path.join(dir, 'libs');
}

/** The unpacked Elasticsearch integ-test distribution for a version (its home folder). */
export async function elasticsearchHome(cacheDir: string, version: string): Promise<string> {
  const dir = await materialise(path.join(cacheDir, `elasticsearch-${version}`), async (tmp) => {
    await maven([`${dependencyPlugin}:copy`, `-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version}:zip`, `-DoutputDirectory=${tmp}`], `Elasticsearch ${version}`);
    const zip = readdirSync(tmp).find((name) => name.endsWith('.zip'));
    if (!zip) throw new TallyError('SERVICE_ARTIFACT', `Maven returned no zip for Elasticsearch ${version}`);
    try {
      await run('unzip', ['-q', '-o', path.join(tmp, zip), '-d', tmp]);
    } catch (error) {
      throw new TallyError('SERVICE_ARTIFACT', `could not unpack ${zip} (is unzip installed? apt-get install unzip): ${(error as Error).message}`, { cause: error });
    }
    rmSync(path.join(tmp, zip));
  });
  return path.join(dir, `elasticsearch-${version}`);
}

/** The unpacked Apicurio Registry distribution for a version (the folder holding quarkus-run.jar). */
export async function apicurioHome(cacheDir: string, version: string): Promise<string> {
  return materialise(path.join(cacheDir, `apicurio-registry-${version}`), async (tmp) => {
    await maven([`${dependencyPlugin}:copy`, `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, `-DoutputDirectory=${tmp}`], `Apicurio Registry ${version}`);
    const archive = readdirSync(tmp).find((name) => name.endsWith('.tar.gz'));
    if (!archive) throw new TallyError('SERVICE_ARTIFACT', `Maven returned no tar.gz for Apicurio Registry ${version}`);
    try {
      await run('tar', ['-xzf', path.join(tmp, archive), '-C', tmp]);
    } catch (error) {
      throw new TallyError('SERVICE_ARTIFACT', `could not unpack ${archive}: ${(error as Error).message}`, { cause: error });
    }
    rmSync(path.join(tmp, archive));
    if (!existsSync(path.join(tmp, 'quarkus-run.jar'))) throw new TallyError('SERVICE_ARTIFACT', `${archive} holds no quarkus-run.jar; is ${version} an Apicurio Registry 3 release?`);
  });
}
