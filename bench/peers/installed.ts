import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../pipeline/paths.js';

/** Where bench/install-peers.sh put each peer, and its version; undefined when it is not installed. */
export interface PeerTool {
  command: string;
  version: string;
  env?: NodeJS.ProcessEnv;
  /** extra arguments the tool needs wherever it runs (syslog-ng's module path) */
  baseArgs?: string[];
}

function run(command: string, args: string[], env?: NodeJS.ProcessEnv): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  } catch (error) {
    const out = (error as { stdout?: string }).stdout;
    return out && out.length ? out : undefined;
  }
}

export function kcatTool(): PeerTool | undefined {
  const out = run('kcat', ['-V']);
  const version = out ? /^Version (\S+)/m.exec(out)?.[1] : undefined;
  const librdkafka = out ? /librdkafka (\S+)/.exec(out)?.[1] : undefined;
  return version ? { command: 'kcat', version: `kcat ${version} (librdkafka ${librdkafka ?? '?'})` } : undefined;
}

const rsyslogModules = ['imfile', 'omkafka', 'imkafka', 'omelasticsearch', 'mmjsonparse'];

export function rsyslogTool(): (PeerTool & { modules: string[] }) | undefined {
  const out = run('rsyslogd', ['-v']);
  const version = out ? /^rsyslogd\s+(\S+)/m.exec(out)?.[1] : undefined;
  if (!version) return undefined;
  const moduleDir = ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'].find((dir) => existsSync(dir)) ?? '';
  const modules = rsyslogModules.filter((m) => existsSync(path.join(moduleDir, `${m}.so`)));
  return { command: 'rsyslogd', version: `rsyslog ${version}`, modules };
}

export const syslogNgDir = path.join(projectRoot, '.tally', 'cache', 'bench-peers', 'syslog-ng');

export function syslogNgTool(): PeerTool | undefined {
  const command = path.join(syslogNgDir, 'usr', 'sbin', 'syslog-ng');
  const moduleDir = path.join(syslogNgDir, 'usr', 'lib', 'syslog-ng', '3.38');
  if (!existsSync(command) || !existsSync(path.join(moduleDir, 'libkafka.so'))) return undefined;
  const env = { ...process.env, LD_LIBRARY_PATH: path.join(syslogNgDir, 'usr', 'lib', 'syslog-ng') };
  const out = run(command, ['--version'], env);
  const version = out ? /^syslog-ng \S+ \((\S+)\)/m.exec(out)?.[1] : undefined;
  return version ? { command, version: `syslog-ng ${version}`, env, baseArgs: [`--module-path=${moduleDir}`] } : undefined;
}

/** The Filebeat that test/interop/filebeat/install.sh built from the Go module proxy (bench/install-peers.sh runs it). */
export const filebeatModuleVersion = 'v7.17.28';
export const filebeatBinary = path.join(projectRoot, '.tally', 'cache', `filebeat-${filebeatModuleVersion}`, 'filebeat');

export function filebeatTool(): PeerTool | undefined {
  if (!existsSync(filebeatBinary)) return undefined;
  const out = run(filebeatBinary, ['version']);
  const version = out ? /^filebeat version (\S+)/m.exec(out)?.[1] : undefined;
  return version ? { command: filebeatBinary, version: `Filebeat ${version}` } : undefined;
}

export const installHint = 'bash bench/install-peers.sh';

/** The peers that are not installed yet, by name. */
export function missingPeers(): string[] {
  const rsyslog = rsyslogTool();
  return [...(kcatTool() ? [] : ['kcat']), ...(filebeatTool() ? [] : ['filebeat']), ...(rsyslog && rsyslogModules.every((m) => rsyslog.modules.includes(m)) ? [] : ['rsyslog']), ...(syslogNgTool() ? [] : ['syslog-ng'])];
}

/**
 * Installs missing peers with bench/install-peers.sh (Debian packages; syslog-ng unpacked under
 * .tally/cache), as bin/tally installs npm packages on a fresh checkout. TALLY_BENCH_INSTALL_PEERS=0
 * skips it; a peer that is still missing is reported as "not installed" by its case.
 */
export function installMissingPeers(log: (line: string) => void): void {
  const missing = missingPeers();
  if (missing.length === 0 || process.env.TALLY_BENCH_INSTALL_PEERS === '0') return;
  log(`  peers not installed: ${missing.join(', ')}; running ${installHint} (TALLY_BENCH_INSTALL_PEERS=0 skips this)`);
  try {
    execFileSync('bash', [path.join(projectRoot, 'bench', 'install-peers.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (error) {
    log(`  ${installHint} failed (${(error as Error).message.split('\n')[0]}); the cases report what is missing as not installed`);
  }
}
