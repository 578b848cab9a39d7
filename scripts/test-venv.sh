#!/usr/bin/env bash
# Makes .build/test-venv: the Python environment that Spool's Kafka tests use, with
# confluent-kafka (drives Tests/tools/kafka_tool.py) and its Schema Registry client with the
# Avro and JSON Schema serializers (kafka_tool.py produce-sr), noida-db (a second, real
# Kafka-protocol broker on loopback), prometheus_client (Tests/tools/check_metrics.py parses
# the --metrics-file output with it), and datasette (the Datasette recipe in docs/recipes.md is
# run by a test exactly as written). Idempotent: a no-op when the stamp matches the pins.
#   PYTHON=python3.11 scripts/test-venv.sh   picks the interpreter (default: python3)
set -euo pipefail

NOIDA_VERSION=0.2.3
DATASETTE_VERSION=0.65.5
# Everything that pip resolves for the extras is pinned too, so every machine gets the same set.
REQUIREMENTS=(
    "confluent-kafka[avro,json,protobuf,schemaregistry]==2.16.1"
    "noida-db==$NOIDA_VERSION"
    # the Avro and JSON Schema serializers
    fastavro==1.13.1 avro==1.12.2 jsonschema==4.26.0 jsonschema-specifications==2025.9.1
    referencing==0.37.0 rpds-py==2026.9.1
    # the Schema Registry client: httpx2 for HTTP, authlib for OAuth, attrs, cachetools
    httpx2==2.16.2 httpcore2==2.16.2 h11==0.16.0 anyio==4.16.0 idna==3.20 certifi==2026.10.19.post1
    truststore==0.10.5 typing_extensions==4.16.0 Authlib==1.9.10 joserfc==1.8.0 cryptography==50.0.2
    cffi==2.1.1 pycparser==3.12 attrs==26.1.0 cachetools==8.0.2
    # the avro extra also pulls in requests
    requests==2.34.2 charset-normalizer==3.5.3 urllib3==2.8.0
    # the Protobuf serializer (protobuf, googleapis-common-protos) and protoc for the tests' .proto
    # files (grpcio-tools, which needs grpcio); the test registry renders descriptors with protobuf
    protobuf==7.36.2 googleapis-common-protos==1.76.0 grpcio-tools==1.85.1 grpcio==1.85.3
    # the Prometheus text-format parser (no dependencies of its own)
    prometheus_client==0.21.1
    # Datasette, for the docs/recipes.md recipe that browses a capture (Tests/SpoolCLITests/
    # DatasetteRecipeTests.swift runs it); then what it pulls in beyond the pins above (anyio, certifi,
    # h11, idna and typing_extensions are shared with them; pip comes with the venv; setuptools,
    # which grpcio-tools needs too, was left to pip before and is pinned here at what it chose)
    "datasette==$DATASETTE_VERSION" aiofiles==25.1.0 asgi-csrf==0.11 asgiref==3.13.0 click==8.5.1 click-default-group==1.2.4
    flexcache==0.3 flexparser==0.4 httpx==0.29.0 httpcore==1.0.9 hupper==1.12.1 itsdangerous==2.2.0
    janus==2.0.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mergedeep==1.3.4 platformdirs==4.14.9 pluggy==1.7.0
    python-multipart==0.0.34 PyYAML==6.0.4 uvicorn==0.55.0 setuptools==84.2.1
)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.build/test-venv"
stamp="$venv/spool-requirements.txt"
python="${PYTHON:-python3}"
wanted="$(printf '%s\n' "${REQUIREMENTS[@]}")"

die() { echo "test-venv: $*" >&2; exit 1; }

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] \
    && "$venv/bin/python" -c '' 2>/dev/null; then
    echo "test-venv: up to date ($venv: ${REQUIREMENTS[*]})"
    exit 0
fi

command -v "$python" >/dev/null 2>&1 || die "no '$python' on PATH; install Python 3 (Debian: apt-get install python3 python3-venv)"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
make_venv() { rm -rf "$venv" && "$python" -m venv "$venv" >"$log" 2>&1; }

# A venv that no longer runs (e.g. its interpreter moved) is rebuilt; a working one is reused.
if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; }; then
    mkdir -p "$root/.build"
    if ! make_venv; then
        # Debian's python3 keeps venv/ensurepip in the separate python3-venv package.
        [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
            || { cat "$log" >&2; die "'$python -m venv' failed; install python3-venv (apt-get install python3-venv) and run again"; }
        echo "test-venv: '$python -m venv' failed; installing python3-venv with apt-get"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
            || die "apt-get install python3-venv failed"
        make_venv || { cat "$log" >&2; die "'$python -m venv $venv' failed even with python3-venv installed"; }
    fi
fi

rm -f "$stamp"
# One pip run, so that the resolver sees every pin at once.
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet "${REQUIREMENTS[@]}" \
    || die "could not install ${REQUIREMENTS[*]} into $venv (pip's message is above); the Kafka tests need them"

# Check that what was installed actually works before stamping it.
"$venv/bin/python" -c 'import confluent_kafka' 2>/dev/null \
    || die "confluent-kafka is missing from $venv: 'import confluent_kafka' fails"
for module in confluent_kafka.schema_registry.avro confluent_kafka.schema_registry.json_schema \
    confluent_kafka.schema_registry.protobuf grpc_tools.protoc; do
    "$venv/bin/python" -c "import $module" \
        || die "the Schema Registry serializers are broken in $venv: 'import $module' fails (its error is above)"
done
"$venv/bin/python" -c 'import prometheus_client.parser' \
    || die "prometheus_client is broken in $venv: 'import prometheus_client.parser' fails (its error is above)"
datasette_version="$("$venv/bin/datasette" --version 2>/dev/null || true)"
case "$datasette_version" in
    *"version $DATASETTE_VERSION"*) ;;
    *) die "datasette is missing or broken in $venv: '$venv/bin/datasette --version' printed '$datasette_version'" ;;
esac
noida_version="$("$venv/bin/noida-db" version 2>/dev/null || true)"
case "$noida_version" in
    *"$NOIDA_VERSION"*) ;;
    *) die "noida-db is missing or broken in $venv: '$venv/bin/noida-db version' printed '$noida_version'" ;;
esac

printf '%s\n' "$wanted" >"$stamp"
echo "test-venv: installed ${REQUIREMENTS[*]} into $venv"
