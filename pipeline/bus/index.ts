import type { KafkaConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { kafkajsAdmin } from './admin.js';
import { kafkajsClient, kafkajsConsumer, kafkajsProducer } from './kafkajs.js';
import { rdkafkaConsumer, rdkafkaProducer } from './rdkafka.js';
import type { Bus } from './types.js';

export type * from './types.js';

/** The one way a stage reaches Kafka; the backend is a configuration choice. */
export function createBus(config: KafkaConfig, log: Logger): Bus {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const client = kafkajsClient(config, log);
  const topic = (name: string): string => `${config.topicPrefix}${name}`;
  if (config.backend === 'rdkafka') {
    return {
      backend: 'rdkafka',
      topic,
      producer: (options) => rdkafkaProducer(config, log, options),
      consumer: (options) => rdkafkaConsumer(config, log, options),
      admin: () => kafkajsAdmin(client),
    };
  }
  return {
    backend: 'kafkajs',
    topic,
    producer: (options) => kafkajsProducer(client, config, options),
    consumer: (options) => kafkajsConsumer(client, config, options),
    admin: () => kafkajsAdmin(client),
  };
}
