#!/usr/bin/env python3
"""Kafka helper for Spool's tests: create and grow topics, produce test data, read offsets.

Run it with the test venv's python (scripts/test-venv.sh makes it):

    .build/test-venv/bin/python Tests/tools/kafka_tool.py --brokers 127.0.0.1:9092 SUBCOMMAND ...

Results are JSON on stdout. On failure the exit status is non-zero and stderr says why.
Every broker call has a timeout (--timeout, seconds), and a watchdog ends the whole run
after --deadline seconds even if a native call blocks.
"""
import argparse
import faulthandler
import json
import logging
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic


class ToolError(Exception):
    """A failure to report on stderr."""


class Once(logging.Filter):
    """Lets each distinct librdkafka log line through once (a down broker repeats one line per retry)."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record):
        text = record.getMessage()
        new = text not in self.seen
        self.seen.add(text)
        return new


LOG = logging.getLogger("librdkafka")
_handler = logging.StreamHandler(sys.stderr)
_handler.addFilter(Once())
_handler.setFormatter(logging.Formatter("librdkafka: %(message)s"))
LOG.addHandler(_handler)


def client_conf(args, **extra):
    """Settings shared by every client: the brokers, the per-call timeout and the quieter log."""
    return {"bootstrap.servers": args.brokers, "socket.timeout.ms": int(args.timeout * 1000), "logger": LOG, **extra}


def partition_count(client, topic, timeout):
    """The topic's partition count from fresh metadata, or None if the broker doesn't know it."""
    md = client.list_topics(topic, timeout=timeout)
    info = md.topics.get(topic)
    if info is None or info.error is not None:
        return None
    return len(info.partitions)


def wait_for_partitions(client, topic, want, timeout):
    """Polls metadata until the topic shows `want` partitions."""
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        seen = partition_count(client, topic, timeout)
        if seen == want:
            return
        if time.monotonic() >= deadline:
            raise ToolError(f"topic {topic!r} shows {seen} partitions after {timeout}s, expected {want}")
        time.sleep(0.1)


def admin(args):
    return AdminClient(client_conf(args))


def consumer(args, isolation="read_committed"):
    return Consumer(client_conf(
        args,
        **{"group.id": "spool-kafka-tool",  # never joined: only offset queries are made
           "enable.auto.commit": False,
           "isolation.level": isolation},
    ))


def partitions_of(client, topic, timeout):
    count = partition_count(client, topic, timeout)
    if count is None:
        raise ToolError(f"topic {topic!r} does not exist")
    return range(count)


def cmd_metadata(args):
    md = admin(args).list_topics(timeout=args.timeout)
    return {
        "cluster_id": md.cluster_id,
        "brokers": sorted(f"{b.host}:{b.port}" for b in md.brokers.values()),
        "topics": {name: len(t.partitions) for name, t in sorted(md.topics.items())},
    }


def cmd_create_topic(args):
    client = admin(args)
    futures = client.create_topics([NewTopic(args.name, args.partitions, args.replication_factor)],
                                   operation_timeout=args.timeout, request_timeout=args.timeout)
    futures[args.name].result(timeout=args.timeout)
    wait_for_partitions(client, args.name, args.partitions, args.timeout)
    return {"topic": args.name, "partitions": args.partitions}


def cmd_add_partitions(args):
    client = admin(args)
    futures = client.create_partitions([NewPartitions(args.name, args.total)],
                                       operation_timeout=args.timeout, request_timeout=args.timeout)
    futures[args.name].result(timeout=args.timeout)
    wait_for_partitions(client, args.name, args.total, args.timeout)
    return {"topic": args.name, "partitions": args.total}


def parse_header(spec):
    """NAME=TEXT, NAME:hex=HEX or NAME:null, as (name, bytes or None)."""
    if spec.endswith(":null"):
        return (spec[: -len(":null")], None)
    name, sep, value = spec.partition("=")
    if not sep:
        raise ToolError(f"--header {spec!r}: expected NAME=TEXT, NAME:hex=HEX or NAME:null")
    if name.endswith(":hex"):
        return (name[: -len(":hex")], bytes.fromhex(value))
    return (name, value.encode())


def cmd_produce(args):
    if args.abort and not args.transactional_id:
        raise ToolError("--abort needs --transactional-id")
    headers = [parse_header(spec) for spec in args.header]
    conf = client_conf(
        args,
        **{"allow.auto.create.topics": False,  # a typo in a test must not create a topic
           "message.timeout.ms": int(args.timeout * 1000)},
    )
    if args.transactional_id:
        conf["transactional.id"] = args.transactional_id
    producer = Producer(conf)
    partitions = list(partitions_of(producer, args.name, args.timeout))
    if args.partition is not None and args.partition not in partitions:
        raise ToolError(f"topic {args.name!r} has no partition {args.partition} (it has {len(partitions)})")
    targets = partitions if args.partition is None else [args.partition]

    delivered, failures = [], []

    def on_delivery(err, msg):
        if err is not None:
            failures.append(f"partition {msg.partition()}: {err}")
            return
        key, value = msg.key(), msg.value()
        delivered.append({
            "partition": msg.partition(),
            "offset": msg.offset(),
            "key": None if key is None else key.decode(),
            "value": None if value is None else value.decode(),
            "timestamp": msg.timestamp()[1],
        })

    if args.transactional_id:
        producer.init_transactions(args.timeout)
        producer.begin_transaction()
    for i in range(args.count):
        extra = {}
        if args.timestamp_ms is not None:
            extra["timestamp"] = args.timestamp_ms + i * args.timestamp_step_ms
        while True:
            try:
                producer.produce(
                    args.name,
                    key=None if args.key_prefix is None else f"{args.key_prefix}{i}",
                    value=None if args.null_value else f"{args.value_prefix}{i}",
                    partition=targets[i % len(targets)],
                    on_delivery=on_delivery,
                    headers=headers or None,
                    **extra,
                )
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(args.timeout)
    if left:
        raise ToolError(f"{left} of {args.count} messages still undelivered after {args.timeout}s")
    if failures:
        raise ToolError(f"{len(failures)} of {args.count} messages failed: " + "; ".join(failures[:5]))
    if args.transactional_id:
        if args.abort:
            producer.abort_transaction(args.timeout)
        else:
            producer.commit_transaction(args.timeout)
    if len(delivered) != args.count:
        raise ToolError(f"only {len(delivered)} of {args.count} delivery reports arrived")
    return sorted(delivered, key=lambda r: (r["partition"], r["offset"]))


def cmd_watermarks(args):
    c = consumer(args, "read_uncommitted" if args.read_uncommitted else "read_committed")
    try:
        result = {}
        for p in partitions_of(c, args.name, args.timeout):
            low, high = c.get_watermark_offsets(TopicPartition(args.name, p), timeout=args.timeout, cached=False)
            result[str(p)] = [low, high]
        return result
    finally:
        c.close()


def cmd_offsets_for_times(args):
    c = consumer(args)
    try:
        wanted = [TopicPartition(args.name, p, args.timestamp_ms) for p in partitions_of(c, args.name, args.timeout)]
        found = c.offsets_for_times(wanted, timeout=args.timeout)
        for tp in found:
            if tp.error is not None:
                raise ToolError(f"partition {tp.partition}: {tp.error}")
        return {str(tp.partition): tp.offset for tp in found}
    finally:
        c.close()


def parser():
    top = argparse.ArgumentParser(prog="kafka_tool.py", description=__doc__.splitlines()[0])
    top.add_argument("--brokers", required=True, help="bootstrap HOST:PORT")
    top.add_argument("--timeout", type=float, default=30.0, help="seconds allowed for each broker call")
    top.add_argument("--deadline", type=float, default=300.0, help="seconds before the whole run is abandoned")
    sub = top.add_subparsers(dest="command", required=True)

    sub.add_parser("metadata", help="cluster id, brokers and topics with partition counts").set_defaults(run=cmd_metadata)

    p = sub.add_parser("create-topic", help="create a topic and wait until its metadata shows it")
    p.add_argument("name")
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--replication-factor", type=int, default=1)
    p.set_defaults(run=cmd_create_topic)

    p = sub.add_parser("add-partitions", help="grow a topic to --total partitions")
    p.add_argument("name")
    p.add_argument("--total", type=int, required=True)
    p.set_defaults(run=cmd_add_partitions)

    p = sub.add_parser("produce", help="produce --count messages and print their delivery reports")
    p.add_argument("name")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--partition", type=int, help="default: round-robin over all partitions")
    p.add_argument("--key-prefix", help="key i is PREFIX+i (default: no key)")
    p.add_argument("--value-prefix", default="value-", help="value i is PREFIX+i")
    p.add_argument("--null-value", action="store_true", help="produce null values (tombstones)")
    p.add_argument("--timestamp-ms", type=int, help="timestamp of message 0 (default: now)")
    p.add_argument("--timestamp-step-ms", type=int, default=0, help="added to the timestamp per message")
    p.add_argument("--transactional-id", help="produce all messages in one transaction")
    p.add_argument("--abort", action="store_true", help="abort the transaction instead of committing it")
    p.add_argument("--header", action="append", default=[],
                   help="a header on every message, in order: NAME=TEXT, NAME:hex=HEX or NAME:null (repeatable)")
    p.set_defaults(run=cmd_produce)

    p = sub.add_parser("watermarks", help="{partition: [low, high]}")
    p.add_argument("name")
    p.add_argument("--read-uncommitted", action="store_true", help="high is the high watermark, not the LSO")
    p.set_defaults(run=cmd_watermarks)

    p = sub.add_parser("offsets-for-times", help="{partition: first offset with timestamp >= T, or -1}")
    p.add_argument("name")
    p.add_argument("--timestamp-ms", type=int, required=True)
    p.set_defaults(run=cmd_offsets_for_times)
    return top


def main():
    args = parser().parse_args()
    # Ends the process (status 1, with a traceback on stderr) even if a native call blocks.
    faulthandler.dump_traceback_later(args.deadline, exit=True)
    try:
        result = args.run(args)
    except (ToolError, KafkaException) as e:
        print(f"kafka_tool {args.command}: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug or an unexpected client error: name its type too
        print(f"kafka_tool {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
