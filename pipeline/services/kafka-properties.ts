import { kafkaHost, type KafkaNode, type KafkaReplication } from './kafka-topology.js';

export const log4j2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = info
`;

/**
 * The transform's transactions (transform.exactlyOnce): the longest transaction timeout a client may
 * ask for (Kafka's default), and a crashed transform's open transaction aborted within a second of
 * its timeout rather than ten (read-committed readers wait behind it until then).
 */
const transactionSettings = `transaction.max.timeout.ms=900000
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
`;

/** What a one-node, replication-1 broker on a small machine needs, whatever its listeners. */
export const singleNodeSettings = `num.partitions=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
${transactionSettings}share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
`;

/** The same small-machine settings for a cluster: replication broker-wide, internal topics included. */
export function clusterSettings({ replicationFactor, minInsyncReplicas }: KafkaReplication): string {
  return `num.partitions=1
default.replication.factor=${replicationFactor}
min.insync.replicas=${minInsyncReplicas}
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=${replicationFactor}
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=${replicationFactor}
transaction.state.log.min.isr=${minInsyncReplicas}
transaction.state.log.num.partitions=1
${transactionSettings}share.coordinator.state.topic.replication.factor=${replicationFactor}
share.coordinator.state.topic.min.isr=${minInsyncReplicas}
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
`;
}

/** server.properties of one node; `nodes` gives the static quorum (every voter's controller address). */
export function nodeProperties(node: KafkaNode, nodes: KafkaNode[], settings: string, dataDir: string): string {
  const voters = nodes.filter((n) => n.voter).map((n) => `${n.nodeId}@${kafkaHost}:${n.controllerPort}`).join(',');
  const listeners = [`PLAINTEXT://${kafkaHost}:${node.port}`, ...(node.voter ? [`CONTROLLER://${kafkaHost}:${node.controllerPort}`] : [])].join(',');
  return `process.roles=${node.voter ? 'broker,controller' : 'broker'}
node.id=${node.nodeId}
controller.quorum.voters=${voters}
listeners=${listeners}
advertised.listeners=PLAINTEXT://${kafkaHost}:${node.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDir}
${settings}log.flush.interval.messages=9223372036854775807
`;
}
