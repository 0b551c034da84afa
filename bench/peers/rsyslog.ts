import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startChild, type MeasuredChild } from '../child.js';
import type { PeerTool } from './installed.js';

export interface RsyslogRun {
  dir: string;
  logFile: string;
  user: { uid: number; gid: number };
}

const kafkaProducerParams = ['compression.codec=none', 'linger.ms=5', 'batch.num.messages=10000', 'queue.buffering.max.messages=200000'];

/** rsyslogd -n (foreground) with only its own configuration: nothing of the system's, no /dev/log. */
function startRsyslog(tool: PeerTool, config: string, run: RsyslogRun): MeasuredChild {
  mkdirSync(path.join(run.dir, 'spool'), { recursive: true });
  const file = path.join(run.dir, 'rsyslog.conf');
  writeFileSync(file, `global(workDirectory="${path.join(run.dir, 'spool')}" maxMessageSize="64k")\n${config}`);
  return startChild('rsyslog', tool.command, ['-n', '-f', file, '-i', path.join(run.dir, 'rsyslogd.pid')], { logFile: run.logFile, user: run.user, cwd: run.dir });
}

/** Peer of `tally ship`: imfile (inotify) reads the file from its start; omkafka produces each line as it is, acks=all. */
export function startRsyslogFileToKafka(tool: PeerTool, options: RsyslogRun & { brokers: string[]; topic: string; file: string }): MeasuredChild {
  const config = `module(load="imfile" mode="inotify")
module(load="omkafka")
template(name="line" type="string" string="%rawmsg%")
ruleset(name="ship") {
  action(type="omkafka" broker=[${options.brokers.map((b) => JSON.stringify(b)).join(', ')}] topic="${options.topic}" template="line" partitions.auto="on"
         confParam=[${kafkaProducerParams.map((p) => JSON.stringify(p)).join(', ')}]
         topicConfParam=["request.required.acks=-1"])
}
input(type="imfile" file="${options.file}" tag="bench" ruleset="ship" freshStartTail="off")
`;
  return startRsyslog(tool, config, options);
}

/**
 * Peer of `tally sink elasticsearch`: imkafka consumes a topic of the same documents as JSON,
 * mmjsonparse reads the id out, omelasticsearch indexes in bulk with that id as _id into the same
 * index, with `workers` concurrent bulk requests of up to `bulkDocuments` documents.
 */
export function startRsyslogKafkaToElasticsearch(
  tool: PeerTool,
  options: RsyslogRun & { brokers: string[]; topic: string; group: string; esUrl: string; index: string; bulkDocuments: number; workers: number },
): MeasuredChild {
  const url = new URL(options.esUrl);
  const config = `module(load="imkafka")
module(load="mmjsonparse")
module(load="omelasticsearch")
template(name="doc" type="string" string="%rawmsg%")
template(name="docid" type="string" string="%$!id%")
ruleset(name="index" queue.type="LinkedList" queue.size="200000" queue.dequeueBatchSize="${options.bulkDocuments}" queue.workerThreads="${options.workers}") {
  action(type="mmjsonparse" cookie="" useRawMsg="on")
  action(type="omelasticsearch" server="${url.hostname}" serverport="${url.port}" searchIndex="${options.index}" template="doc"
         bulkmode="on" esVersion.major="8" maxbytes="100m" dynbulkid="on" bulkid="docid" writeoperation="index" errorfile="${path.join(options.dir, 'es-errors.json')}")
}
input(type="imkafka" topic="${options.topic}" broker=[${options.brokers.map((b) => JSON.stringify(b)).join(', ')}] consumergroup="${options.group}" ruleset="index"
      confParam=["auto.offset.reset=smallest", "enable.partition.eof=false"])
`;
  return startRsyslog(tool, config, options);
}
