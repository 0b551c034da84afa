"""Reads Tally's domain topics as any Confluent-ecosystem consumer would: confluent-kafka's
AvroDeserializer resolving each value's schema id in the schema registry. Prints one JSON line per
record, {"topic", "partition", "offset", "key", "value"}, timestamp-millis fields as epoch
milliseconds, and stops once its position in every partition reaches the end offset it had at start."""
import argparse
import datetime
import json
import sys

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def plain(value):
    if isinstance(value, datetime.datetime):
        return round(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    deserialize = AvroDeserializer(SchemaRegistryClient({"url": args.registry}))
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": "tally-interop-python",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    assignment = []
    ends = {}
    for topic in args.topics.split(","):
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            sys.exit(f"topic {topic}: {metadata.error}")
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
            if high > low:
                assignment.append(TopicPartition(topic, partition, low))
                ends[(topic, partition)] = high
    consumer.assign(assignment)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=args.timeout)
    while ends and datetime.datetime.now() < deadline:
        message = consumer.poll(1.0)
        if message is not None:
            if message.error() is not None:
                sys.exit(f"consumer error: {message.error()}")
            value = deserialize(message.value(), SerializationContext(message.topic(), MessageField.VALUE))
            key = message.key().decode("utf-8") if message.key() is not None else None
            print(json.dumps({"topic": message.topic(), "partition": message.partition(), "offset": message.offset(), "key": key, "value": plain(value)}))
        # a topic written in transactions ends with a commit marker, which no message reaches: the
        # consumer's position passes it (the end is where the position gets, not the last offset + 1)
        for position in consumer.position([TopicPartition(topic, partition) for (topic, partition) in ends]):
            if position.offset >= ends[(position.topic, position.partition)]:
                del ends[(position.topic, position.partition)]
    consumer.close()
    if ends:
        sys.exit(f"not read to the end within {args.timeout} s: {sorted(ends)}")


if __name__ == "__main__":
    main()
