import type { KafkaConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { kafkajsAdmin } from './admin.js';
import { kafkajsClient, kafkajsConsumer, kafkajsProducer, kafkajsTransactionalProducer } from './kafkajs.js';
import { rdkafkaConsumer, rdkafkaProducer, rdkafkaTransactionalProducer } from './rdkafka.js';
import { diagnoseSecurity } from './security-diagnosis.js';
import type { Bus } from './types.js';

export type * from './types.js';

/** The one way a stage reaches Kafka; the backend is a configuration choice. */
export function createBus(config: KafkaConfig, log: Logger): Bus {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const client = kafkajsClient(config, log);
  const topic = (name: string): string => `${config.topicPrefix}${name}`;
  // a refused login or certificate surfaces as KAFKA_AUTH / KAFKA_TLS, not as a retriable transport failure
  const secured = async <T>(start: () => Promise<T>): Promise<T> => {
    try {
      return await start();
    } catch (error) {
      throw await diagnoseSecurity(config, client, error);
    }
  };
  if (config.backend === 'rdkafka') {
    return {
      backend: 'rdkafka',
      topic,
      producer: (options) => secured(() => rdkafkaProducer(config, log, options)),
      transactionalProducer: (options) => secured(() => rdkafkaTransactionalProducer(config, log, options)),
      consumer: (options) => secured(() => rdkafkaConsumer(config, log, options)),
      admin: () => secured(() => kafkajsAdmin(client)),
    };
  }
  return {
    backend: 'kafkajs',
    topic,
    producer: (options) => secured(() => kafkajsProducer(client, config, log, options)),
    transactionalProducer: (options) => secured(() => kafkajsTransactionalProducer(client, config, log, options)),
    consumer: (options) => secured(() => kafkajsConsumer(client, config, options)),
    admin: () => secured(() => kafkajsAdmin(client)),
  };
}
