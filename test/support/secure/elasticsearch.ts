import { execFileSync } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { reachableEsHome } from '../../../pipeline/services/elasticsearch-place.js';
import { assertTraversable, chownTree, runAsUser, type RunAs } from '../../../pipeline/services/service-user.js';
import { findJava } from '../../../pipeline/services/java.js';
import { isAlive, spawnDetached, stopProcess, waitFor } from '../../../pipeline/services/process.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { servicesLayout } from '../../../pipeline/services/layout.js';
import { freePort, testConfig } from '../world.js';
import { createCa, createServerCertificate } from './certs.js';

/** pinned: the stand-in analysis plugin is compiled against this version's API */
export const secureEsVersion = '8.19.21';

export interface EsUser {
  username: string;
  password: string;
}

/** A single-node Elasticsearch with security on, HTTPS with a certificate made here, for one test file. */
export interface SecureElasticsearch {
  /** https:// */
  url: string;
  /** the CA that signed the node's HTTP certificate */
  caFile: string;
  /** a CA the node's certificate does not chain to */
  untrustedCaFile: string;
  /** file-realm superuser, only for the test's own set-up and checks */
  admin: EsUser;
  /** file-realm user with the file-based tally_writer role: what Tally is configured with */
  writer: EsUser;
  /** encoded API key (base64 id:key) owned by the writer, or why none could be made */
  apiKey: { encoded: string; id: string } | { unavailable: string };
  indexPrefix: string;
  dir: string;
  stop(): Promise<void>;
  /** a request as the admin, for set-up and checks */
  request(method: string, pathname: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** give the writer a new password in the file realm (the node reloads the file within seconds) */
  rotateWriterPassword(password: string): void;
  /** a request as `user` */
  requestAs(user: EsUser, method: string, pathname: string): Promise<{ status: number; body: unknown }>;
}

const secret = (): string => randomBytes(12).toString('hex');

/** Elasticsearch's {PBKDF2} hash form: cost, salt and PBKDF2-HMAC-SHA512 (256 bits), base64. */
function pbkdf2Hash(password: string): string {
  const salt = randomBytes(32);
  return `{PBKDF2}10000$${salt.toString('base64')}$${pbkdf2Sync(password, salt, 10_000, 32, 'sha512').toString('base64')}`;
}

function writeUsers(confDir: string, admin: EsUser, writer: EsUser, owner: RunAs | undefined): void {
  const file = path.join(confDir, 'users');
  writeFileSync(file, `${admin.username}:${pbkdf2Hash(admin.password)}\n${writer.username}:${pbkdf2Hash(writer.password)}\n`);
  if (owner) chownSync(file, owner.uid, owner.gid);
}

export function basic(user: EsUser): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}` };
}

/** One HTTPS request trusting only `ca` (fetch cannot be given a CA). */
function httpsRequest(url: string, ca: Buffer, method: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = https.request(url, { method, ca, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) }, timeout: 30_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined }));
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${url} timed out`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/**
 * A home of symlinks to the cached distribution plus plugins/ with the test-only analysis stand-in
 * (es-analysis/TestAnalysisPlugin.java, compiled here), so the .security index, and with it API
 * keys, can exist. Without a JDK compiler the plain home is used and API keys stay unavailable.
 */
function homeWithSecurityIndex(home: string, javaHome: string): { home: string; without?: string; cleanup: () => void } {
  const own = mkdtempSync(path.join(os.tmpdir(), 'h-sec-es-home-'));
  const cleanup = (): void => rmSync(own, { recursive: true, force: true });
  try {
    chmodSync(own, 0o755);
    // never config: the node's config is a copy of its own, and a link here would let the test write into the shared cache
    for (const entry of ['bin', 'lib', 'modules']) symlinkSync(path.join(home, entry), path.join(own, entry));
    const plugin = path.join(own, 'plugins', 'tally-test-analysis');
    const classes = path.join(own, 'classes');
    mkdirSync(plugin, { recursive: true });
    const source = path.join(projectRoot, 'test/support/secure/es-analysis/TestAnalysisPlugin.java');
    execFileSync(path.join(javaHome, 'bin', 'javac'), ['-J-XX:TieredStopAtLevel=1', '-d', classes, '-cp', `${path.join(home, 'lib')}/*`, source], { stdio: 'pipe' });
    execFileSync(path.join(javaHome, 'bin', 'jar'), ['cf', path.join(plugin, 'tally-test-analysis.jar'), '-C', classes, '.'], { stdio: 'pipe' });
    writeFileSync(
      path.join(plugin, 'plugin-descriptor.properties'),
      ['description=test-only stand-in for the analysis components of the .security index', 'version=1.0', 'name=tally-test-analysis', 'classname=tally.test.TestAnalysisPlugin', 'java.version=17', `elasticsearch.version=${secureEsVersion}`, ''].join('\n'),
    );
    for (const d of [path.join(own, 'plugins'), plugin]) chmodSync(d, 0o755);
    return { home: own, cleanup };
  } catch (error) {
    cleanup();
    return { home, without: `the test analysis plugin could not be built (${String((error as { stderr?: Buffer }).stderr ?? error).split('\n')[0]})`, cleanup: () => undefined };
  }
}

/** The file realm's user is written with the distribution's own tool before the node starts. */
export async function startSecureElasticsearch(indexPrefix: string, startTimeoutMs = 300_000): Promise<SecureElasticsearch> {
  const java = findJava(`Elasticsearch ${secureEsVersion}`, 17, Number.MAX_SAFE_INTEGER);
  const owner = runAsUser(testConfig().services.elasticsearch.user);
  // outside the checkout when the service user cannot enter it (a clone in a mode-700 folder)
  const { home: distribution } = await reachableEsHome(servicesLayout(testConfig().services), secureEsVersion, owner);
  const built = homeWithSecurityIndex(distribution, java.home);
  const home = built.home;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'h-sec-es-'));
  const confDir = path.join(dir, 'config');
  const dataDir = path.join(dir, 'data');
  const logsDir = path.join(dir, 'logs');
  for (const d of [dataDir, logsDir, path.join(dir, 'tmp')]) mkdirSync(d, { recursive: true });
  cpSync(path.join(distribution, 'config'), confDir, { recursive: true, dereference: true });
  // the node may only read certificates inside its config folder
  const certDir = path.join(confDir, 'certs');
  mkdirSync(certDir);
  const ca = createCa(certDir, 'test-ca');
  const other = createCa(dir, 'other-ca');
  const server = createServerCertificate(certDir, 'http', ca);
  const [httpPort, transportPort] = [await freePort(), await freePort()];
  appendFileSync(
    path.join(confDir, 'elasticsearch.yml'),
    [
      '',
      'cluster.name: h-sec',
      'node.name: h-sec-es',
      'discovery.type: single-node',
      'network.host: 127.0.0.1',
      `http.port: ${httpPort}`,
      `transport.port: ${transportPort}`,
      `path.data: ${dataDir}`,
      `path.logs: ${logsDir}`,
      'xpack.security.enabled: true',
      'xpack.security.http.ssl.enabled: true',
      `xpack.security.http.ssl.certificate: ${server.certFile}`,
      `xpack.security.http.ssl.key: ${server.keyFile}`,
      'xpack.security.transport.ssl.enabled: false',
      'xpack.security.authc.api_key.enabled: true',
      'cluster.routing.allocation.disk.threshold_enabled: false',
      'node.store.allow_mmap: false',
      '',
    ].join('\n'),
  );
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ES_JAVA_HOME: java.home, ES_PATH_CONF: confDir, ES_TMPDIR: path.join(dir, 'tmp') };
  const admin: EsUser = { username: 'h-sec-admin', password: secret() };
  const writer: EsUser = { username: 'tally-writer', password: secret() };
  // the native realm cannot be used: its .security index needs analysis-common, absent from the integ-test build
  appendFileSync(
    path.join(confDir, 'roles.yml'),
    `\ntally_writer:\n  cluster: [monitor, manage_index_templates, manage_ilm, manage_own_api_key]\n  indices:\n    - names: ['${indexPrefix}*']\n      privileges: [all]\n`,
  );
  // the file realm reads PBKDF2 hashes whatever the configured algorithm: no JVM tool needed to add users
  writeUsers(confDir, admin, writer, undefined);
  writeFileSync(path.join(confDir, 'users_roles'), `superuser:${admin.username}\ntally_writer:${writer.username}\n`);
  if (owner) {
    assertTraversable(dir, owner);
    chownTree(dir, owner);
  }
  const logFile = path.join(dir, 'elasticsearch.out');
  writeFileSync(logFile, '');
  const owned = spawnDetached(path.join(home, 'bin', 'elasticsearch'), [], {
    logFile,
    cwd: dir,
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    env: { ...env, ES_JAVA_OPTS: '-Xms384m -Xmx384m' },
  });
  const url = `https://127.0.0.1:${httpPort}`;
  const caPem = readFileSync(ca.caFile);
  const stop = async (): Promise<void> => {
    await stopProcess(owned, 20_000);
    rmSync(dir, { recursive: true, force: true });
    built.cleanup();
  };
  const request = (method: string, pathname: string, body?: unknown): Promise<{ status: number; body: unknown }> => httpsRequest(new URL(pathname, url).href, caPem, method, basic(admin), body);
  const healthy = async (): Promise<true | undefined> => {
    const answer = await request('GET', '/_cluster/health?wait_for_status=yellow&timeout=1s').catch(() => undefined);
    const status = (answer?.body as { status?: string } | undefined)?.status;
    return status === 'yellow' || status === 'green' ? true : undefined;
  };
  try {
    await waitFor('secured Elasticsearch', startTimeoutMs, healthy, () => isAlive(owned));
    const created = await httpsRequest(new URL('/_security/api_key', url).href, caPem, 'POST', basic(writer), { name: 'h-sec-tally' });
    const key = created.body as { id?: string; encoded?: string; error?: { reason?: string } };
    const apiKey = created.status === 200 && key.encoded && key.id ? { encoded: key.encoded, id: key.id } : { unavailable: `POST /_security/api_key answered ${created.status}: ${key.error?.reason ?? 'no key'}${built.without ? `; ${built.without}` : ''}` };
    const rotateWriterPassword = (password: string): void => writeUsers(confDir, admin, { ...writer, password }, owner);
    const requestAs = (user: EsUser, method: string, pathname: string) => httpsRequest(new URL(pathname, url).href, caPem, method, basic(user));
    return { url, caFile: ca.caFile, untrustedCaFile: other.caFile, admin, writer, apiKey, indexPrefix, dir, stop, request, rotateWriterPassword, requestAs };
  } catch (error) {
    await stopProcess(owned, 5000);
    built.cleanup();
    throw new Error(`${(error as Error).message}; see ${logFile} and ${logsDir}`, { cause: error });
  }
}
