#!/usr/bin/env python3
"""Kafka helper for Spool's tests: create and grow topics, produce test data, read offsets.

Run it with the test venv's python (scripts/test-venv.sh makes it):

    .build/test-venv/bin/python Tests/tools/kafka_tool.py --brokers 127.0.0.1:9092 SUBCOMMAND ...

Results are JSON on stdout. On failure the exit status is non-zero and stderr says why.
Every broker call has a timeout (--timeout, seconds), and a watchdog ends the whole run
after --deadline seconds even if a native call blocks.

Schema Registry subcommands (the registry can be Tests/tools/schema_registry.py):

    register-schema SUBJECT --registry URL --schema-file F [--schema-type AVRO|JSON|PROTOBUF]
        [--reference NAME=SUBJECT:VERSION ...]                        prints {"id": N, "version": V}
    produce-sr TOPIC --registry URL --format avro|json|protobuf --schema-file F --records-file R [--message M]
        [--key-schema-file F2 --key-format avro|json] [--reference NAME=SUBJECT:VERSION ...]
        [--key-reference ...] [--partition P] [--header ...] [--schema-id-in-header]

Both take --registry-user/--registry-password (HTTP Basic) or --registry-bearer-token. produce-sr
serializes with confluent-kafka's own AvroSerializer/JSONSerializer (auto.register.schemas, subjects
TOPIC-value and TOPIC-key), so the values carry the real Confluent framing: byte 0, the schema id as
4 big-endian bytes, then the Avro binary or JSON text. Without --key-schema-file keys are UTF-8
strings (or null). R has one JSON object per line (blank lines are skipped):

    {"key": K or null, "value": V or null, "partition": P?, "timestamp": MS?,
     "raw_value_hex": "00000001ff"?, "raw_key_hex": "..."?}

raw_value_hex / raw_key_hex send those exact bytes instead of serializing (truncated or garbage
payloads). The partition is the line's "partition", else --partition, else round-robin over all
partitions. The output is a JSON array in file order, one object per line of R: {"index", "partition",
"offset", "timestamp", "key_hex", "value_hex", "key_schema_id", "value_schema_id"}, where a schema id
is read from bytes 1-4 of a framed value (null when the bytes are null or don't start with byte 0).

JSON cannot carry the Python types that fastavro wants for logical types, so single-key objects
with these tags are converted (anywhere in a key or value, before serializing):

    {"$bytes": "<base64>"}                         -> bytes (Avro bytes and fixed)
    {"$decimal": "123.45"}                         -> decimal.Decimal (the schema's scale must be >= the
                                                      decimal's; fastavro pads, never rounds)
    {"$date": "2024-01-31"}                        -> datetime.date
    {"$time_millis": "12:34:56.789"}               -> datetime.time (fastavro truncates to millis)
    {"$time_micros": "12:34:56.789123"}            -> datetime.time
    {"$timestamp_millis": "2024-01-31T12:34:56.789Z"}   -> timezone-aware datetime ("Z" or an offset;
    {"$timestamp_micros": "2024-01-31T12:34:56.789123+01:00"}  none means UTC)
    {"$local_timestamp_millis": "2024-01-31T12:34:56.789"} -> naive datetime (also _micros)
    {"$uuid": "6f1c...-..."}                       -> uuid.UUID
    {"$float": "NaN"}                              -> float("nan"), also "Infinity", "-Infinity"
    {"$union": ["com.acme.Branch", V]}             -> fastavro's (name, value) tuple: picks a union branch

fastavro also takes plain values for logical types: ints for date (days), time-millis/-micros and
timestamp-millis/-micros, strings for uuid. Any other object (also one whose single key starts with
"$" but is not a tag above) is left as it is.
"""
import argparse
import base64
import datetime
import decimal
import faulthandler
import json
import logging
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
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
    if args.brokers is None:
        raise ToolError(f"{args.command} needs --brokers")
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


def produce_one(producer, topic, **fields):
    """Hands one record to the producer, waiting for deliveries while its local queue is full."""
    while True:
        try:
            producer.produce(topic, **fields)
            break
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.1)
    producer.poll(0)


def flush_all(producer, count, failures, timeout, what):
    """Waits for every delivery report; raises ToolError if any is missing or failed."""
    left = producer.flush(timeout)
    if left:
        raise ToolError(f"{left} of {count} {what} still undelivered after {timeout}s")
    if failures:
        raise ToolError(f"{len(failures)} of {count} {what} failed: " + "; ".join(failures[:5]))


def cmd_metadata(args):
    md = admin(args).list_topics(timeout=args.timeout)
    return {
        "cluster_id": md.cluster_id,
        "brokers": sorted(f"{b.host}:{b.port}" for b in md.brokers.values()),
        "topics": {name: len(t.partitions) for name, t in sorted(md.topics.items())},
    }


def cmd_create_topic(args):
    client = admin(args)
    config = dict(spec.split("=", 1) for spec in args.config)
    futures = client.create_topics([NewTopic(args.name, args.partitions, args.replication_factor, config=config)],
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
        produce_one(producer, args.name,
                    key=None if args.key_prefix is None else f"{args.key_prefix}{i}",
                    value=None if args.null_value else f"{args.value_prefix}{i}",
                    partition=targets[i % len(targets)], on_delivery=on_delivery, headers=headers or None, **extra)
    flush_all(producer, args.count, failures, args.timeout, "messages")
    if args.transactional_id:
        if args.abort:
            producer.abort_transaction(args.timeout)
        else:
            producer.commit_transaction(args.timeout)
    if len(delivered) != args.count:
        raise ToolError(f"only {len(delivered)} of {args.count} delivery reports arrived")
    return sorted(delivered, key=lambda r: (r["partition"], r["offset"]))


def registry_client(args):
    """A SchemaRegistryClient for --registry with the given auth."""
    from confluent_kafka.schema_registry import SchemaRegistryClient  # only the -sr subcommands need it

    conf = {"url": args.registry, "timeout": args.timeout}
    if (args.registry_user is None) != (args.registry_password is None):
        raise ToolError("--registry-user and --registry-password go together")
    if args.registry_user is not None:
        conf["basic.auth.user.info"] = f"{args.registry_user}:{args.registry_password}"
    if args.registry_bearer_token is not None:
        conf.update({"bearer.auth.credentials.source": "STATIC_TOKEN",
                     "bearer.auth.token": args.registry_bearer_token,
                     "bearer.auth.logical.cluster": "lsrc-spool-test"})
    return SchemaRegistryClient(conf)


def parse_reference(spec):
    """NAME=SUBJECT:VERSION as a SchemaReference."""
    from confluent_kafka.schema_registry import SchemaReference

    name, sep, rest = spec.partition("=")
    subject, sep2, version = rest.rpartition(":")
    if not (sep and sep2 and name and subject):
        raise ToolError(f"--reference {spec!r}: expected NAME=SUBJECT:VERSION")
    try:
        number = int(version)
    except ValueError:
        raise ToolError(f"--reference {spec!r}: VERSION must be a number")
    return SchemaReference(name, subject, number)


def read_text(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ToolError(f"cannot read {what} {path}: {e}")


def load_schema(path, schema_type, references):
    from confluent_kafka.schema_registry import Schema

    return Schema(read_text(path, "schema file"), schema_type, references=[parse_reference(r) for r in references])


def cmd_register_schema(args):
    client = registry_client(args)
    registered = client.register_schema_full_response(
        args.subject, load_schema(args.schema_file, args.schema_type, args.reference))
    return {"id": registered.schema_id, "version": registered.version}


def _parse_datetime(text, aware):
    """ISO 8601 with a trailing Z allowed (Python 3.10's fromisoformat does not take it)."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(text)
    if aware and value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    if not aware and value.tzinfo is not None:
        raise ValueError("a local timestamp has no time zone")
    return value


TAGS = {
    "$bytes": lambda v: base64.b64decode(v, validate=True),
    "$decimal": decimal.Decimal,
    "$date": datetime.date.fromisoformat,
    "$time_millis": datetime.time.fromisoformat,
    "$time_micros": datetime.time.fromisoformat,
    "$timestamp_millis": lambda v: _parse_datetime(v, aware=True),
    "$timestamp_micros": lambda v: _parse_datetime(v, aware=True),
    "$local_timestamp_millis": lambda v: _parse_datetime(v, aware=False),
    "$local_timestamp_micros": lambda v: _parse_datetime(v, aware=False),
    "$uuid": uuid.UUID,
    "$float": float,
    "$union": lambda v: (v[0], untag(v[1])),
}


def untag(value):
    """Converts the tagged objects of the module docstring into Python values, recursively."""
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, inner), = value.items()
            if tag in TAGS:
                try:
                    return TAGS[tag](inner)
                except Exception as e:
                    raise ToolError(f"bad {tag} value {inner!r}: {e}")
        return {k: untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untag(v) for v in value]
    return value


def load_proto_class(path, message):
    """The message class `message` (e.g. Order or Order.Line) of the .proto file `path`, compiled at
    test time with grpcio-tools' protoc together with every .proto next to it (its imports)."""
    import glob
    import importlib
    import os
    import tempfile

    import grpc_tools
    from grpc_tools import protoc

    folder = os.path.dirname(os.path.abspath(path))
    out = tempfile.mkdtemp(prefix="spool-proto-")
    files = sorted(os.path.relpath(f, folder) for f in glob.glob(os.path.join(folder, "*.proto")))
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    if protoc.main(["protoc", f"-I{folder}", f"-I{include}", f"--python_out={out}"] + files) != 0:
        raise ToolError(f"protoc could not compile {files} in {folder} (its message is above)")
    sys.path.insert(0, out)
    module = importlib.import_module(os.path.relpath(os.path.abspath(path), folder)[:-len(".proto")].replace("/", ".") + "_pb2")
    found = module
    for part in message.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise ToolError(f"{path} has no message {message}")
    return found


def make_serializer(fmt, schema, client, message=None, id_in_header=False):
    """A serializer of confluent-kafka's own; with id_in_header its header_schema_id_serializer puts the
    schema's GUID in a __key_schema_id / __value_schema_id header and leaves the payload unframed."""
    conf = {"auto.register.schemas": True}
    if id_in_header:
        from confluent_kafka.schema_registry import header_schema_id_serializer
        conf["schema.id.serializer"] = header_schema_id_serializer
    if fmt == "protobuf":
        from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
        from google.protobuf import json_format

        cls = load_proto_class(schema, message)
        inner = ProtobufSerializer(cls, client, conf=conf)

        def serialize(value, ctx):
            return None if value is None else inner(json_format.ParseDict(value, cls()), ctx)
        return serialize
    if fmt == "avro":
        from confluent_kafka.schema_registry.avro import AvroSerializer
        return AvroSerializer(client, schema, conf=conf)
    from confluent_kafka.schema_registry.json_schema import JSONSerializer
    return JSONSerializer(schema, client, conf=conf)


def framed_schema_id(data):
    """The schema id in bytes 1-4 of a Confluent-framed payload, or None."""
    if data is None or len(data) < 5 or data[0] != 0:
        return None
    return int.from_bytes(data[1:5], "big")


def read_records(path):
    records = []
    for number, line in enumerate(read_text(path, "records file").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise ToolError(f"{path} line {number}: not JSON: {e}")
        if not isinstance(record, dict):
            raise ToolError(f"{path} line {number}: expected an object")
        unknown = set(record) - {"key", "value", "partition", "timestamp", "raw_value_hex", "raw_key_hex"}
        if unknown:
            raise ToolError(f"{path} line {number}: unknown field(s) {sorted(unknown)}")
        records.append(record)
    return records


def cmd_produce_sr(args):
    from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

    if (args.key_schema_file is None) != (args.key_format is None):
        raise ToolError("--key-schema-file and --key-format go together")
    if args.key_reference and args.key_schema_file is None:
        raise ToolError("--key-reference needs --key-schema-file")
    records = read_records(args.records_file)
    client = registry_client(args)
    schema_type = {"avro": "AVRO", "json": "JSON"}
    if args.format == "protobuf":
        if not args.message:
            raise ToolError("--format protobuf needs --message NAME")
        value_serializer = make_serializer("protobuf", args.schema_file, client, args.message, args.schema_id_in_header)
    else:
        value_serializer = make_serializer(
            args.format, load_schema(args.schema_file, schema_type[args.format], args.reference), client,
            id_in_header=args.schema_id_in_header)
    if args.key_schema_file is not None:
        key_serializer = make_serializer(
            args.key_format, load_schema(args.key_schema_file, schema_type[args.key_format], args.key_reference), client,
            id_in_header=args.schema_id_in_header)
    else:
        strings = StringSerializer("utf_8")

        def key_serializer(key, ctx):
            if key is not None and not isinstance(key, str):
                raise ToolError(f"key {key!r} is not a string (use --key-schema-file to serialize other keys)")
            return strings(key, ctx)

    headers = [parse_header(spec) for spec in args.header]
    producer = Producer(client_conf(
        args,
        **{"allow.auto.create.topics": False,  # a typo in a test must not create a topic
           "message.timeout.ms": int(args.timeout * 1000)},
    ))
    partitions = list(partitions_of(producer, args.name, args.timeout))

    def checked_partition(p, where):
        if p not in partitions:
            raise ToolError(f"{where}: topic {args.name!r} has no partition {p} (it has {len(partitions)})")
        return p

    if args.partition is not None:
        checked_partition(args.partition, "--partition")
    results, failures = [None] * len(records), []

    def on_delivery(index):
        def report(err, msg):
            if err is not None:
                failures.append(f"record {index} (partition {msg.partition()}): {err}")
                return
            key, value = msg.key(), msg.value()
            results[index] = {
                "index": index,
                "partition": msg.partition(),
                "offset": msg.offset(),
                "timestamp": msg.timestamp()[1],
                "key_hex": None if key is None else key.hex(),
                "value_hex": None if value is None else value.hex(),
                "key_schema_id": framed_schema_id(key) if args.key_schema_file else None,
                "value_schema_id": framed_schema_id(value),
            }
        return report

    for index, record in enumerate(records):
        where = f"record {index}"
        # Each record's own list: a header serializer appends its schema-id header to it.
        record_headers = list(headers)
        if "raw_key_hex" in record:
            key = None if record["raw_key_hex"] is None else bytes.fromhex(record["raw_key_hex"])
        else:
            try:
                key = key_serializer(untag(record.get("key")), SerializationContext(args.name, MessageField.KEY, record_headers))
            except ToolError:
                raise
            except Exception as e:
                raise ToolError(f"{where}: the key does not serialize: {type(e).__name__}: {e}")
        if "raw_value_hex" in record:
            value = None if record["raw_value_hex"] is None else bytes.fromhex(record["raw_value_hex"])
        else:
            try:
                value = value_serializer(untag(record.get("value")),
                                         SerializationContext(args.name, MessageField.VALUE, record_headers))
            except ToolError:
                raise
            except Exception as e:
                raise ToolError(f"{where}: the value does not serialize: {type(e).__name__}: {e}")
        if record.get("partition") is not None:
            partition = checked_partition(record["partition"], where)
        elif args.partition is not None:
            partition = args.partition
        else:
            partition = partitions[index % len(partitions)]
        extra = {} if record.get("timestamp") is None else {"timestamp": int(record["timestamp"])}
        produce_one(producer, args.name, key=key, value=value, partition=partition,
                    headers=record_headers or None, on_delivery=on_delivery(index), **extra)
    flush_all(producer, len(records), failures, args.timeout, "records")
    if any(r is None for r in results):
        raise ToolError(f"only {sum(r is not None for r in results)} of {len(records)} delivery reports arrived")
    return results


def mixed_record(i, partitions, first_timestamp):
    """Record i of produce-mixed: null, empty and binary keys and values, duplicate and null
    headers on every third record, all 256 byte values across the values."""
    key = None if i % 5 == 0 else (b"" if i % 7 == 0 else b"key-%d" % i)
    value = None if i % 11 == 0 else (b"" if i % 13 == 0 else bytes((i + j) % 256 for j in range(i % 37)))
    headers = [("h", b"1"), ("h", b"\x00\xff"), ("null", None), ("empty", b"")] if i % 3 == 0 else None
    return dict(partition=i % partitions, key=key, value=value, headers=headers, timestamp=first_timestamp + i)


def cmd_produce_mixed(args):
    producer = Producer(client_conf(args, **{"linger.ms": 5, "enable.idempotence": True,
                                             "message.timeout.ms": int(args.timeout * 1000)}))
    partitions = len(partitions_of(producer, args.name, args.timeout))
    first = args.timestamp_ms if args.timestamp_ms is not None else int(time.time() * 1000) - args.count
    failures = []

    def report(err, msg):
        if err is not None:
            failures.append(str(err))
    for i in range(args.count):
        produce_one(producer, args.name, on_delivery=report, **mixed_record(i, partitions, first))
    flush_all(producer, args.count, failures, args.timeout * 4, "records")
    return {"produced": args.count, "partitions": partitions}


def cmd_digest(args):
    """Per partition, what a read_committed consumer reads: the record count and a SHA-256 over
    each record's key, value, headers (in order, null told from empty) and timestamp; offsets are
    left out, so a restored topic and its source compare equal."""
    import hashlib
    c = Consumer(client_conf(args, **{"group.id": "spool-kafka-tool-digest", "enable.auto.commit": False,
                                      "isolation.level": "read_committed", "enable.partition.eof": True,
                                      "auto.offset.reset": "earliest"}))
    try:
        result = {}
        for p in partitions_of(c, args.name, args.timeout):
            digest, count = hashlib.sha256(), 0
            low, high = c.get_watermark_offsets(TopicPartition(args.name, p), timeout=args.timeout, cached=False)
            if high > low:
                c.assign([TopicPartition(args.name, p, low)])
                deadline = time.monotonic() + args.timeout * 4
                while True:
                    m = c.poll(1.0)
                    if time.monotonic() > deadline:
                        raise ToolError(f"{args.name}[{p}]: no end of partition after {count} records")
                    if m is None:
                        continue
                    if m.error():
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            break
                        raise ToolError(f"{args.name}[{p}]: {m.error()}")
                    digest.update(repr((m.key(), m.value(), m.headers(), m.timestamp()[1])).encode())
                    count += 1
                c.unassign()
            result[str(p)] = {"count": count, "sha256": digest.hexdigest()}
        return result
    finally:
        c.close()


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
    top.add_argument("--brokers", help="bootstrap HOST:PORT (every subcommand but register-schema needs it)")
    top.add_argument("--timeout", type=float, default=30.0, help="seconds allowed for each broker call")
    top.add_argument("--deadline", type=float, default=300.0, help="seconds before the whole run is abandoned")
    sub = top.add_subparsers(dest="command", required=True)

    sub.add_parser("metadata", help="cluster id, brokers and topics with partition counts").set_defaults(run=cmd_metadata)

    p = sub.add_parser("create-topic", help="create a topic and wait until its metadata shows it")
    p.add_argument("name")
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--replication-factor", type=int, default=1)
    p.add_argument("--config", action="append", default=[], help="a topic configuration NAME=VALUE (repeatable)")
    p.set_defaults(run=cmd_create_topic)

    p = sub.add_parser("produce-mixed", help="produce --count records with null/empty/binary keys, values and headers")
    p.add_argument("name")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timestamp-ms", type=int, help="timestamp of record 0, one ms more per record (default: ends now)")
    p.set_defaults(run=cmd_produce_mixed)

    p = sub.add_parser("digest", help="{partition: {count, sha256}} of what a read_committed consumer reads (offsets left out)")
    p.add_argument("name")
    p.set_defaults(run=cmd_digest)

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

    def registry_options(p):
        p.add_argument("--registry", required=True, help="Schema Registry URL, e.g. http://127.0.0.1:8081")
        p.add_argument("--registry-user", help="HTTP Basic user (with --registry-password)")
        p.add_argument("--registry-password", help="HTTP Basic password")
        p.add_argument("--registry-bearer-token", help="send 'Authorization: Bearer TOKEN'")

    p = sub.add_parser("register-schema", help="register a schema under SUBJECT and print {id, version}")
    p.add_argument("subject")
    registry_options(p)
    p.add_argument("--schema-file", required=True)
    p.add_argument("--schema-type", default="AVRO", choices=["AVRO", "JSON", "PROTOBUF"])
    p.add_argument("--reference", action="append", default=[], help="NAME=SUBJECT:VERSION (repeatable)")
    p.set_defaults(run=cmd_register_schema)

    p = sub.add_parser("produce-sr", help="produce JSON-lines records serialized with Schema Registry framing")
    p.add_argument("name", metavar="TOPIC")
    registry_options(p)
    p.add_argument("--format", required=True, choices=["avro", "json", "protobuf"], help="the value serializer")
    p.add_argument("--message", help="for --format protobuf: the message of --schema-file (a .proto) to serialize "
                   "(Outer.Inner for a nested one); the .proto files next to it are its imports")
    p.add_argument("--schema-file", required=True, help="the value schema (registered as TOPIC-value)")
    p.add_argument("--reference", action="append", default=[],
                   help="a reference of the value schema: NAME=SUBJECT:VERSION (repeatable)")
    p.add_argument("--key-schema-file", help="serialize keys with this schema (registered as TOPIC-key)")
    p.add_argument("--key-format", choices=["avro", "json"], help="the key serializer (with --key-schema-file)")
    p.add_argument("--key-reference", action="append", default=[],
                   help="a reference of the key schema: NAME=SUBJECT:VERSION (repeatable)")
    p.add_argument("--records-file", required=True, help="JSON lines: {key, value, partition?, timestamp?, raw_value_hex?, raw_key_hex?}")
    p.add_argument("--partition", type=int, help="for records without one (default: round-robin)")
    p.add_argument("--header", action="append", default=[],
                   help="a header on every message, as for produce (repeatable)")
    p.add_argument("--schema-id-in-header", action="store_true",
                   help="put the schema's GUID in a __key_schema_id/__value_schema_id header (confluent-kafka's "
                   "header_schema_id_serializer, Confluent Platform 8) instead of framing the payload")
    p.set_defaults(run=cmd_produce_sr)

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
