#!/usr/bin/env python3
"""A small Confluent-compatible Schema Registry for Spool's tests and benchmark.

Standard library only, so it runs with any python3 (3.8 or newer), inside the test venv or not:

    python3 Tests/tools/schema_registry.py --port 0 --ready-file /tmp/sr.json [--user U --password P]

State is in memory (optionally kept in --state-file across restarts). It answers the REST calls that
confluent-kafka's SchemaRegistryClient (2.16.1) makes for AvroSerializer/JSONSerializer with
auto-registration and references, for the deserializers, and for a Swift client reading schemas by id:

    POST   /subjects/{subject}/versions        register {schema, schemaType?, references?}
    POST   /subjects/{subject}                 look a schema up under a subject
    GET    /schemas/ids/{id}                   {schema, schemaType (not for AVRO), references (if any), guid}
    GET    /schemas/ids/{id}?format=serialized for PROTOBUF: schema is the base64 FileDescriptorProto
    GET    /schemas/guids/{guid}               {schema, schemaType (not for AVRO), references (if any), guid}, no
                                               id (Confluent Platform 8); ?format=serialized as for ids
    GET    /schemas/ids/{id}/schema            the schema text alone
    GET    /schemas/ids/{id}/subjects          subjects that hold the id
    GET    /schemas/ids/{id}/versions          [{subject, version}] that hold the id
    GET    /schemas/types                      ["AVRO", "JSON", "PROTOBUF"]
    GET    /subjects                           subject names, sorted (?subjectPrefix=)
    GET    /subjects/{subject}/versions        [1, 2, ...]
    GET    /subjects/{subject}/versions/{v}    {subject, version, id, schema, schemaType?, references?};
                                               v is a number, "latest" or -1
    GET    /subjects/{subject}/versions/{v}/schema         the schema text alone
    GET    /subjects/{subject}/versions/{v}/referencedby   ids of schemas that reference it
    DELETE /subjects/{subject}[/versions/{v}]  forget the subject (or one version); ids stay readable
    GET    /config, PUT /config                {"compatibilityLevel"} / {"compatibility"}
    GET|PUT|DELETE /config/{subject}           (GET 404s with 40408 unless set or ?defaultToGlobal=true)
    GET    /mode, GET /mode/{subject}          {"mode": "READWRITE"}
    GET    /associations/resources/{ns}/{name} []  (the 2.16 client's subject name strategy asks)
    GET    /                                   {}

PROTOBUF: confluent-kafka's ProtobufSerializer registers a base64 FileDescriptorProto, as a real
registry accepts it; the registry keeps it and answers, like Confluent's, .proto text (rendered from the
descriptor with the `protobuf` package: fields, then nested messages, then enums) unless
?format=serialized asks for the descriptor. --no-serialized ignores ?format (a registry older than 5.5).
Text registered as text is kept as text (no descriptor).

Ids are global: the same schema (type, JSON-equal text, references) gets the same id under every
subject, and registering it again under a subject that has it adds no version. Each schema also has a
GUID (a version-5 UUID of that identity, so the same content has the same GUID), answered by register,
lookup, GET /schemas/ids/{id} and subject versions, as Confluent Platform 8 does; clients that put the
schema in a record header (header_schema_id_serializer) write it there. The text returned is
the text first registered. Compatibility is not checked. Errors are JSON {"error_code", "message"}
with Confluent's codes: 40401 subject, 40402 version, 40403 schema not found, 40408 no subject config,
42201 invalid schema, 42202 invalid version, 401 unauthorized, 404/405/415 for bad requests.

Options: --port (0 picks a free one), --host (default 127.0.0.1), --ready-file (gets {"port": N},
written atomically once the server listens), --user/--password (HTTP Basic on every request),
--bearer-token (accepts "Authorization: Bearer T" too), --delay-ms (sleep before answering
GET /schemas/ids/...; "delaying GET PATH" is logged when the sleep starts), --state-file (load at
start, saved after every change). Each request is logged on stderr. SIGTERM or SIGINT stops it
cleanly (exit status 0).

Misbehaviour, for tests of a client's defences:
  --redirect-to URL       answer every request with 302 and Location URL + the request's path and
                          query, before any credentials are checked (a proxy that moved); "self"
                          redirects to the request's own path (a loop)
  --record-auth FILE      append one line per request to FILE: METHOD PATH AUTHORIZATION (or "-")
  --missing-path PATH     answer 404 to GET PATH (e.g. /subjects: a proxy that does not serve it)
  --no-content-length     answer GET /schemas/ids/{id} without Content-Length, ending the answer by
                          closing the connection (the client cannot know the size in advance)
"""
import argparse
import base64
import binascii
import hmac
import json
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
ACCEPTED_BODY_TYPES = ("application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json",
                       "application/json", "application/octet-stream")
SCHEMA_TYPES = ("AVRO", "JSON", "PROTOBUF")


class RegistryError(Exception):
    """An error answer: HTTP status, Confluent error code and message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def subject_not_found(subject):
    return RegistryError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(subject, version):
    return RegistryError(404, 40402, f"Version {version} not found.")


def schema_not_found(detail="Schema not found"):
    return RegistryError(404, 40403, detail)


PROTO_TYPES = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
               8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64", 17: "sint32",
               18: "sint64"}


def descriptor_of(text):
    """The FileDescriptorProto a base64 text holds, or None (plain .proto text, or no protobuf package)."""
    try:
        from google.protobuf import descriptor_pb2
        data = base64.b64decode(text, validate=True)
        proto = descriptor_pb2.FileDescriptorProto.FromString(data)
    except Exception:  # noqa: BLE001 (any failure means: not a serialized descriptor)
        return None
    return proto if proto.name or proto.message_type or proto.enum_type else None


def render_proto(proto):
    """.proto text for a FileDescriptorProto (what a registry answers by default)."""
    lines = [f'syntax = "{proto.syntax or "proto2"}";']
    if proto.package:
        lines.append(f"package {proto.package};")
    lines += [f'import "{d}";' for d in proto.dependency]
    proto3 = proto.syntax == "proto3"

    def field_type(f):
        return f.type_name if f.type in (11, 14) else PROTO_TYPES[f.type]

    def render_enum(e, indent):
        lines.append(f"{indent}enum {e.name} {{")
        lines.extend(f"{indent}  {v.name} = {v.number};" for v in e.value)
        lines.append(f"{indent}}}")

    def render_message(m, indent):
        lines.append(f"{indent}message {m.name} {{")
        entries = {n.name: n for n in m.nested_type if n.options.map_entry}
        done_oneofs = set()
        for f in m.field:
            inner = indent + "  "
            if f.HasField("oneof_index") and not f.proto3_optional:
                if f.oneof_index in done_oneofs:
                    continue
                done_oneofs.add(f.oneof_index)
                lines.append(f"{inner}oneof {m.oneof_decl[f.oneof_index].name} {{")
                lines.extend(f"{inner}  {field_type(g)} {g.name} = {g.number};" for g in m.field
                             if g.HasField("oneof_index") and not g.proto3_optional and g.oneof_index == f.oneof_index)
                lines.append(f"{inner}}}")
                continue
            entry = entries.get(f.type_name.rsplit(".", 1)[-1]) if f.type == 11 and f.label == 3 else None
            if entry is not None:
                lines.append(f"{inner}map<{field_type(entry.field[0])}, {field_type(entry.field[1])}> {f.name} = {f.number};")
                continue
            label = "repeated " if f.label == 3 else "optional " if f.proto3_optional or (not proto3 and f.label == 1) \
                else "required " if f.label == 2 else ""
            lines.append(f"{inner}{label}{field_type(f)} {f.name} = {f.number};")
        for n in m.nested_type:
            if not n.options.map_entry:
                render_message(n, indent + "  ")
        for e in m.enum_type:
            render_enum(e, indent + "  ")
        lines.append(f"{indent}}}")

    for m in proto.message_type:
        render_message(m, "")
    for e in proto.enum_type:
        render_enum(e, "")
    return "\n".join(lines) + "\n"


def canonical_text(schema_type, text):
    """The text that identifies a schema: compact JSON for AVRO and JSON, the text itself for PROTOBUF."""
    if schema_type == "PROTOBUF":
        return text
    try:
        return json.dumps(json.loads(text), separators=(",", ":"), sort_keys=False)
    except ValueError as e:
        raise RegistryError(422, 42201, f"Invalid schema: not JSON ({e})")


class State:
    """Schemas by global id, subjects with their versions, compatibility config. Thread-safe."""

    def __init__(self, path=None):
        self.path = path
        self.lock = threading.Lock()
        self.schemas = {}      # id -> {"schema", "schemaType", "references"}
        self.by_key = {}       # (type, canonical text, references) -> id
        self.subjects = {}     # subject -> [{"version", "id"}] in version order
        self.next_version = {}  # subject -> next version number (not reused after a delete)
        self.next_id = 1
        self.config = {"compatibilityLevel": "BACKWARD"}
        self.subject_config = {}
        if path and os.path.exists(path):
            self._load()

    # -- persistence

    def _load(self):
        with open(self.path, encoding="utf-8") as f:
            data = json.load(f)
        for entry in data.get("schemas", []):
            schema_id = int(entry["id"])
            record = {"schema": entry["schema"], "schemaType": entry.get("schemaType", "AVRO"),
                      "references": entry.get("references", [])}
            if entry.get("serialized"):
                record["serialized"] = entry["serialized"]
            record["guid"] = entry.get("guid") or self._guid(record)
            self.schemas[schema_id] = record
            self.by_key[self._key(record)] = schema_id
        self.subjects = {s: [{"version": int(v["version"]), "id": int(v["id"])} for v in versions]
                         for s, versions in data.get("subjects", {}).items()}
        self.next_version = {s: int(n) for s, n in data.get("next_version", {}).items()}
        self.next_id = max([int(data.get("next_id", 1))] + [i + 1 for i in self.schemas])
        self.config = data.get("config", self.config)
        self.subject_config = data.get("subject_config", {})

    def _save(self):
        """Writes the state file atomically (a temporary file renamed over it). Called under the lock."""
        if not self.path:
            return
        data = {
            "next_id": self.next_id,
            "schemas": [{"id": i, **record} for i, record in sorted(self.schemas.items())],
            "subjects": self.subjects,
            "next_version": self.next_version,
            "config": self.config,
            "subject_config": self.subject_config,
        }
        write_atomically(self.path, json.dumps(data, indent=1))

    # -- helpers (called under the lock)

    @staticmethod
    def _key(record):
        refs = tuple((r["name"], r["subject"], r["version"]) for r in record["references"])
        text = record.get("serialized") or record["schema"]
        return (record["schemaType"], canonical_text(record["schemaType"], text), refs)

    @classmethod
    def _guid(cls, record):
        """The GUID of a schema's identity (a version-5 UUID: the same content gets the same GUID)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "spool-test-registry:" + json.dumps(cls._key(record))))

    def _versions(self, subject):
        versions = self.subjects.get(subject)
        if not versions:
            raise subject_not_found(subject)
        return versions

    def _version(self, subject, version_text):
        versions = self._versions(subject)
        if version_text in ("latest", "-1"):
            return versions[-1]
        try:
            number = int(version_text)
        except ValueError:
            number = 0
        if number < 1:
            raise RegistryError(422, 42202, f"The specified version '{version_text}' is not a valid version id. "
                                "Allowed values are between [1, 2^31-1] and the string \"latest\"")
        for entry in versions:
            if entry["version"] == number:
                return entry
        raise version_not_found(subject, number)

    def _schema_fields(self, schema_id):
        """{schema, schemaType (not for AVRO), references (if any)}, as Confluent answers them."""
        record = self.schemas[schema_id]
        fields = {"schema": record["schema"]}
        if record["schemaType"] != "AVRO":
            fields["schemaType"] = record["schemaType"]
        if record["references"]:
            fields["references"] = [dict(r) for r in record["references"]]
        fields["guid"] = record["guid"]
        return fields

    def _subject_version(self, subject, entry):
        return {"subject": subject, "version": entry["version"], "id": entry["id"], **self._schema_fields(entry["id"])}

    def _parse_request(self, body):
        """The record for a register or lookup body, with references checked and resolved."""
        if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
            raise RegistryError(422, 42201, "Invalid schema: the body needs a \"schema\" string")
        schema_type = str(body.get("schemaType") or "AVRO").upper()
        if schema_type not in SCHEMA_TYPES:
            raise RegistryError(422, 42201, f"Invalid schema: unknown schemaType '{body.get('schemaType')}'")
        references = []
        for ref in body.get("references") or []:
            if not isinstance(ref, dict) or not all(k in ref for k in ("name", "subject", "version")):
                raise RegistryError(422, 42201, f"Invalid schema: bad reference {ref!r}")
            try:
                entry = self._version(ref["subject"], str(ref["version"]))
            except RegistryError:
                raise RegistryError(422, 42201, f"Invalid schema: reference {ref['name']!r} to "
                                    f"{ref['subject']}:{ref['version']} does not exist")
            references.append({"name": ref["name"], "subject": ref["subject"], "version": entry["version"]})
        record = {"schema": body["schema"], "schemaType": schema_type, "references": references}
        canonical_text(schema_type, record["schema"])  # rejects text that is not JSON
        if schema_type == "PROTOBUF":
            proto = descriptor_of(body["schema"])
            if proto is not None:
                record = {**record, "schema": render_proto(proto), "serialized": body["schema"]}
        return record

    # -- operations

    def register(self, subject, body):
        with self.lock:
            record = self._parse_request(body)
            key = self._key(record)
            schema_id = self.by_key.get(key)
            if schema_id is None:
                schema_id = self.next_id
                self.next_id += 1
                record["guid"] = self._guid(record)
                self.schemas[schema_id] = record
                self.by_key[key] = schema_id
            versions = self.subjects.setdefault(subject, [])
            entry = next((e for e in versions if e["id"] == schema_id), None)
            if entry is None:
                number = max(self.next_version.get(subject, 1), max([e["version"] + 1 for e in versions] or [1]))
                entry = {"version": number, "id": schema_id}
                versions.append(entry)
                self.next_version[subject] = number + 1
            self._save()
            return self._subject_version(subject, entry)

    def lookup(self, subject, body):
        with self.lock:
            versions = self._versions(subject)
            record = self._parse_request(body)
            schema_id = self.by_key.get(self._key(record))
            entry = next((e for e in versions if e["id"] == schema_id), None)
            if entry is None:
                raise schema_not_found()
            return self._subject_version(subject, entry)

    def schema_by_id(self, schema_id, serialized=False):
        with self.lock:
            if schema_id not in self.schemas:
                raise schema_not_found()
            fields = self._schema_fields(schema_id)
            if serialized and self.schemas[schema_id].get("serialized"):
                fields["schema"] = self.schemas[schema_id]["serialized"]
            return fields

    def schema_by_guid(self, guid, serialized=False):
        """{schema, schemaType, references, guid} of the schema with `guid` (no id, as Confluent answers)."""
        with self.lock:
            found = [i for i, record in self.schemas.items() if record["guid"] == guid.lower()]
            if not found:
                raise schema_not_found(f"Schema with guid {guid} not found")
            fields = self._schema_fields(found[0])
            if serialized and self.schemas[found[0]].get("serialized"):
                fields["schema"] = self.schemas[found[0]]["serialized"]
            return fields

    def id_usage(self, schema_id):
        with self.lock:
            if schema_id not in self.schemas:
                raise schema_not_found()
            return [{"subject": s, "version": e["version"]}
                    for s, versions in sorted(self.subjects.items()) for e in versions if e["id"] == schema_id]

    def subject_names(self, prefix=""):
        with self.lock:
            return sorted(s for s, versions in self.subjects.items() if versions and s.startswith(prefix))

    def version_numbers(self, subject):
        with self.lock:
            return [e["version"] for e in self._versions(subject)]

    def version(self, subject, version_text):
        with self.lock:
            return self._subject_version(subject, self._version(subject, version_text))

    def referenced_by(self, subject, version_text):
        with self.lock:
            number = self._version(subject, version_text)["version"]
            return sorted(i for i, record in self.schemas.items()
                          if any(r["subject"] == subject and r["version"] == number for r in record["references"]))

    def delete_subject(self, subject):
        with self.lock:
            numbers = [e["version"] for e in self._versions(subject)]
            del self.subjects[subject]
            self._save()
            return numbers

    def delete_version(self, subject, version_text):
        with self.lock:
            entry = self._version(subject, version_text)
            self.subjects[subject].remove(entry)
            if not self.subjects[subject]:
                del self.subjects[subject]
            self._save()
            return entry["version"]

    def get_config(self, subject=None, default_to_global=False):
        with self.lock:
            if subject is None:
                return dict(self.config)
            if subject in self.subject_config:
                return {"compatibilityLevel": self.subject_config[subject]}
            if default_to_global:
                return dict(self.config)
            raise RegistryError(404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured")

    def put_config(self, subject, body):
        level = body.get("compatibility") if isinstance(body, dict) else None
        if not isinstance(level, str):
            raise RegistryError(422, 42203, "Invalid compatibility level")
        with self.lock:
            if subject is None:
                self.config = {"compatibilityLevel": level.upper()}
            else:
                self.subject_config[subject] = level.upper()
            self._save()
        return {"compatibility": level.upper()}

    def delete_config(self, subject):
        with self.lock:
            level = self.subject_config.pop(subject, None)
            if level is None:
                raise RegistryError(404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured")
            self._save()
            return {"compatibilityLevel": level}


def write_atomically(path, text):
    """Writes `text` to a temporary file beside `path`, then renames it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


class Handler(BaseHTTPRequestHandler):
    """One HTTP request. The server carries `state` and `options`."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the clients expect; every answer has a Content-Length
    server_version = "SpoolTestSchemaRegistry/1"

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_PUT(self):
        self.handle_request("PUT")

    def do_DELETE(self):
        self.handle_request("DELETE")

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write("schema_registry: %s %s\n" % (self.address_string(), format % args))
        sys.stderr.flush()

    # -- plumbing

    def read_body(self):
        """The request body as bytes (Content-Length or chunked), always read so keep-alive stays in step."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_json(self, status, payload, extra_headers=()):
        self.send_text(status, json.dumps(payload), CONTENT_TYPE, extra_headers)

    def send_text(self, status, text, content_type, extra_headers=()):
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def authorized(self):
        options = self.server.options
        if options.user is None and options.bearer_token is None:
            return True
        header = self.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "basic" and options.user is not None:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, sep, password = decoded.partition(":")
            return bool(sep) and hmac.compare_digest(user, options.user) and hmac.compare_digest(password, options.password)
        if scheme.lower() == "bearer" and options.bearer_token is not None:
            return hmac.compare_digest(credentials, options.bearer_token)
        return False

    def handle_request(self, method):
        try:
            raw_body = self.read_body()
        except (ValueError, OSError) as e:
            self.close_connection = True
            self.send_json(400, {"error_code": 400, "message": f"Unreadable request body: {e}"})
            return
        options = self.server.options
        if options.record_auth:
            with self.server.record_lock, open(options.record_auth, "a", encoding="utf-8") as f:
                f.write(f"{method} {self.path} {self.headers.get('Authorization') or '-'}\n")
        if options.redirect_to:
            target = self.path if options.redirect_to == "self" else options.redirect_to.rstrip("/") + self.path
            self.send_json(302, {"error_code": 302, "message": "Moved"}, [("Location", target)])
            return
        if method == "GET" and options.missing_path and urlsplit(self.path).path == options.missing_path:
            self.send_json(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
            return
        if not self.authorized():
            challenge = [("WWW-Authenticate", 'Basic realm="SchemaRegistry"')] if self.server.options.user else []
            self.send_json(401, {"error_code": 401, "message": "Unauthorized"}, challenge)
            return
        try:
            status, payload = self.route(method, raw_body)
        except RegistryError as e:
            self.send_json(e.status, {"error_code": e.code, "message": e.message})
            return
        except Exception as e:  # a bug: answer 500 and say what it was
            self.send_json(500, {"error_code": 50001, "message": f"{type(e).__name__}: {e}"})
            return
        if isinstance(payload, TextAnswer):
            self.send_text(status, payload.text, "text/plain; charset=utf-8")
        elif self.server.options.no_content_length and urlsplit(self.path).path.startswith("/schemas/ids/"):
            self.send_without_length(status, json.dumps(payload))
        else:
            self.send_json(status, payload)

    def send_without_length(self, status, text):
        """Sends `text` with no Content-Length, in pieces, and closes the connection to end it."""
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Connection", "close")
        self.end_headers()
        data = text.encode("utf-8")
        try:
            for start in range(0, len(data), 16384):
                self.wfile.write(data[start:start + 16384])
                self.wfile.flush()
        except OSError:
            pass  # the client stopped reading (an answer over its limit)

    def delay(self):
        """Sleeps --delay-ms (logging when the sleep starts, so a test knows a request waits)."""
        if self.server.options.delay_ms > 0:
            sys.stderr.write(f"schema_registry: delaying {self.command} {self.path}\n")
            sys.stderr.flush()
            time.sleep(self.server.options.delay_ms / 1000)

    def route(self, method, raw_body):
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p != ""]
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        state = self.server.state

        def body():
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type and content_type not in ACCEPTED_BODY_TYPES:
                raise RegistryError(415, 415, f"HTTP 415 Unsupported Media Type ({content_type})")
            try:
                return json.loads(raw_body.decode("utf-8") or "null")
            except (ValueError, UnicodeDecodeError) as e:
                raise RegistryError(400, 400, f"Unrecognized JSON body: {e}")

        def schema_id(text):
            try:
                return int(text)
            except ValueError:
                raise schema_not_found()

        def allowed(*methods):
            if method not in methods:
                raise RegistryError(405, 405, "HTTP 405 Method Not Allowed")

        n = len(parts)
        if n == 0:
            allowed("GET")
            return 200, {}
        head = parts[0]
        if head == "schemas":
            if n == 2 and parts[1] == "types":
                allowed("GET")
                return 200, list(SCHEMA_TYPES)
            if n >= 3 and parts[1] == "ids":
                allowed("GET")
                sid = schema_id(parts[2])
                if n == 3:
                    self.delay()
                    serialized = query.get("format") == "serialized" and not self.server.options.no_serialized
                    return 200, state.schema_by_id(sid, serialized)
                if n == 4 and parts[3] == "schema":
                    self.delay()
                    return 200, TextAnswer(state.schema_by_id(sid)["schema"])
                if n == 4 and parts[3] == "subjects":
                    return 200, sorted({u["subject"] for u in state.id_usage(sid)})
                if n == 4 and parts[3] == "versions":
                    return 200, state.id_usage(sid)
            if n == 3 and parts[1] == "guids":
                allowed("GET")
                self.delay()
                serialized = query.get("format") == "serialized" and not self.server.options.no_serialized
                return 200, state.schema_by_guid(parts[2], serialized)
        elif head == "subjects":
            if n == 1:
                allowed("GET")
                return 200, state.subject_names(query.get("subjectPrefix", ""))
            subject = parts[1]
            if n == 2:
                allowed("POST", "DELETE")
                if method == "POST":
                    return 200, state.lookup(subject, body())
                return 200, state.delete_subject(subject)
            if parts[2] == "versions":
                if n == 3:
                    allowed("GET", "POST")
                    if method == "POST":
                        return 200, state.register(subject, body())
                    return 200, state.version_numbers(subject)
                if n == 4:
                    allowed("GET", "DELETE")
                    if method == "DELETE":
                        return 200, state.delete_version(subject, parts[3])
                    return 200, state.version(subject, parts[3])
                if n == 5 and parts[4] == "schema":
                    allowed("GET")
                    return 200, TextAnswer(state.version(subject, parts[3])["schema"])
                if n == 5 and parts[4] == "referencedby":
                    allowed("GET")
                    return 200, state.referenced_by(subject, parts[3])
        elif head == "config":
            if n == 1:
                allowed("GET", "PUT")
                if method == "PUT":
                    return 200, state.put_config(None, body())
                return 200, state.get_config()
            if n == 2:
                allowed("GET", "PUT", "DELETE")
                if method == "PUT":
                    return 200, state.put_config(parts[1], body())
                if method == "DELETE":
                    return 200, state.delete_config(parts[1])
                default_to_global = query.get("defaultToGlobal", "false").lower() == "true"
                return 200, state.get_config(parts[1], default_to_global)
        elif head == "associations" and n == 4 and parts[1] == "resources":
            # confluent-kafka 2.16's default subject name strategy asks for the topic's associated subjects
            # first; there are none here, so it falls back to TOPIC-key / TOPIC-value.
            allowed("GET")
            return 200, []
        elif head == "mode" and n <= 2:
            allowed("GET")
            return 200, {"mode": "READWRITE"}
        raise RegistryError(404, 404, "HTTP 404 Not Found")


class TextAnswer:
    """A plain-text answer (the .../schema endpoints return the schema text itself)."""

    def __init__(self, text):
        self.text = text


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a request still sleeping in --delay-ms does not hold up the exit

    def __init__(self, address, state, options):
        self.state = state
        self.options = options
        self.record_lock = threading.Lock()
        super().__init__(address, Handler)


def main():
    parser = argparse.ArgumentParser(prog="schema_registry.py", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 (default) picks a free one")
    parser.add_argument("--ready-file", help="written atomically with {\"port\": N} once the server listens")
    parser.add_argument("--user", help="require HTTP Basic auth with this user (needs --password)")
    parser.add_argument("--password", help="the password for --user")
    parser.add_argument("--bearer-token", help="require (or, with --user, also accept) 'Authorization: Bearer TOKEN'")
    parser.add_argument("--delay-ms", type=int, default=0, help="sleep this long before answering GET /schemas/ids/...")
    parser.add_argument("--state-file", help="JSON file the state is loaded from at start and saved to after changes")
    parser.add_argument("--redirect-to", help="answer every request with 302 to URL + path (\"self\": to itself, a loop)")
    parser.add_argument("--record-auth", help="append METHOD PATH AUTHORIZATION (or -) to this file for every request")
    parser.add_argument("--missing-path", help="answer 404 to GET of exactly this path, e.g. /subjects")
    parser.add_argument("--no-serialized", action="store_true",
                        help="ignore ?format=serialized: answer PROTOBUF schemas as text only (a registry before 5.5)")
    parser.add_argument("--no-content-length", action="store_true",
                        help="answer GET /schemas/ids/{id} without Content-Length, closing the connection to end it")
    options = parser.parse_args()
    if (options.user is None) != (options.password is None):
        parser.error("--user and --password go together")

    try:
        state = State(options.state_file)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"schema_registry: cannot load --state-file {options.state_file}: {e}", file=sys.stderr)
        return 1
    try:
        server = Server((options.host, options.port), state, options)
    except OSError as e:
        print(f"schema_registry: cannot listen on {options.host}:{options.port}: {e}", file=sys.stderr)
        return 1
    port = server.server_address[1]

    def stop(signum, _frame):
        # shutdown() waits for serve_forever() to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if options.ready_file:
        write_atomically(options.ready_file, json.dumps({"port": port}))
    print(f"schema_registry: listening on http://{options.host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    print("schema_registry: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
