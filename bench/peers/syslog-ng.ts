import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startChild, type MeasuredChild } from '../child.js';
import type { PeerTool } from './installed.js';

/**
 * Peer of `tally ship`: syslog-ng's file() source (no-parse: the whole line is $MSG) into the
 * librdkafka-based kafka-c() destination, acks=all, the same producer settings as kcat. The source
 * window is raised from its defaults (log-iw-size 100, log-fetch-limit 10), as syslog-ng's manual
 * advises for throughput, so flow control does not cap it.
 */
export function startSyslogNgFileToKafka(tool: PeerTool, options: { dir: string; logFile: string; user: { uid: number; gid: number }; brokers: string[]; topic: string; file: string }): MeasuredChild {
  const config = `@version: 3.38
options { stats-freq(0); log-fifo-size(100000); };
source s_in { file("${options.file}" flags(no-parse) follow-freq(1) log-iw-size(10000) log-fetch-limit(1000)); };
destination d_kafka { kafka-c(bootstrap-servers("${options.brokers.join(',')}") topic("${options.topic}") message("$MSG")
  config("acks" => "all", "linger.ms" => "5", "batch.num.messages" => "10000", "compression.codec" => "none", "queue.buffering.max.messages" => "200000")); };
log { source(s_in); destination(d_kafka); };
`;
  const file = path.join(options.dir, 'syslog-ng.conf');
  writeFileSync(file, config);
  const args = ['-F', '-f', file, `--persist-file=${path.join(options.dir, 'persist')}`, `--pidfile=${path.join(options.dir, 'pid')}`, `--control=${path.join(options.dir, 'ctl')}`, '--no-caps', ...(tool.baseArgs ?? [])];
  return startChild('syslog-ng', tool.command, args, { logFile: options.logFile, user: options.user, cwd: options.dir, ...(tool.env ? { env: tool.env } : {}) });
}
