import { startChild, type MeasuredChild } from '../child.js';
import type { PeerTool } from './installed.js';

/**
 * The file → Kafka ceiling: librdkafka's own CLI producing the lines of a file, one message per
 * line, no key, acks=all, and the same producer settings the rdkafka backend uses (linger.ms 5,
 * batch.num.messages 10000, no compression). It exits once every message is acknowledged.
 */
export function startKcatProducer(tool: PeerTool, options: { brokers: string[]; topic: string; file: string; logFile: string; user?: { uid: number; gid: number } }): MeasuredChild {
  const args = ['-P', '-b', options.brokers.join(','), '-t', options.topic, '-l', options.file, '-X', 'acks=all', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'compression.codec=none', '-X', 'queue.buffering.max.messages=200000'];
  // bash's `times` prints kcat's exact CPU time once it exits (it exits as soon as it is done, before the last /proc poll)
  return startChild('kcat', 'bash', ['-c', `${tool.command} "$@"; status=$?; times; exit $status`, 'kcat', ...args], { logFile: options.logFile, cpuFromTimes: true, ...(options.user ? { user: options.user } : {}) });
}
