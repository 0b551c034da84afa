import net from 'node:net';
import type { StartedTestContainer } from 'testcontainers';

/**
 * Kafka and Elasticsearch from testcontainers, for machines where a Docker engine answers.
 * Loaded dynamically: testcontainers must never be needed where there is no engine.
 */
export async function dockerAnswers(timeoutMs = 5000): Promise<boolean> {
  try {
    const tc = await import('testcontainers');
    await Promise.race([tc.getContainerRuntimeClient(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs))]);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface ContainerWorld {
  kafkaBrokers: string;
  elasticsearchUrl: string;
  stop(): Promise<void>;
}

export async function startContainers(versions: { kafka: string; elasticsearch: string }): Promise<ContainerWorld> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const kafkaPort = await freePort();
  // the broker must advertise the address the host reaches it at, so the host port is fixed up front
  const kafka = new GenericContainer(`apache/kafka:${versions.kafka}`)
    .withExposedPorts({ container: 9092, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000);
  const elasticsearch = new GenericContainer(`docker.elastic.co/elasticsearch/elasticsearch:${versions.elasticsearch}`)
    .withExposedPorts(9200)
    .withEnvironment({ 'discovery.type': 'single-node', 'xpack.security.enabled': 'false', ES_JAVA_OPTS: '-Xms512m -Xmx512m' })
    .withWaitStrategy(Wait.forHttp('/_cluster/health?wait_for_status=yellow', 9200).forStatusCode(200))
    .withStartupTimeout(180_000);
  const started: StartedTestContainer[] = await Promise.all([kafka.start(), elasticsearch.start()]);
  const [k, e] = started as [StartedTestContainer, StartedTestContainer];
  return {
    kafkaBrokers: `127.0.0.1:${kafkaPort}`,
    elasticsearchUrl: `http://${e.getHost()}:${e.getMappedPort(9200)}`,
    async stop() {
      await Promise.all([k.stop(), e.stop()]);
    },
  };
}
