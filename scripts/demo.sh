#!/usr/bin/env bash
# make demo: an embedded broker with sample data, a bounded ingest, status and four queries (one by header).
set -euo pipefail
cd "$(dirname "$0")/.."
SPOOL=${SPOOL:-.build/release/spool}
DB=${DEMO_DB:-demo.sqlite}
BOOT=$(mktemp -u /tmp/spool-demo-bootstrap.XXXXXX)

rm -f "$DB" "$DB-wal" "$DB-shm"
"$SPOOL" dev-broker --topic orders:4 --topic clicks:2 --messages 20000 --bootstrap-file "$BOOT" >/dev/null &
BROKER=$!
trap 'kill "$BROKER" 2>/dev/null || true; wait "$BROKER" 2>/dev/null || true; rm -f "$BOOT"' EXIT
for _ in $(seq 1 300); do [ -s "$BOOT" ] && break; sleep 0.1; done
[ -s "$BOOT" ] || { echo "demo: the dev broker did not start" >&2; exit 1; }

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step "$SPOOL" ingest --brokers "$(cat "$BOOT")" --topic orders --topic clicks:-1d --db "$DB"
step "$SPOOL" status "$DB"
step "$SPOOL" query "$DB" "SELECT topic, partition, count(*) AS messages, min(offset) AS first, max(offset) AS last FROM messages GROUP BY topic, partition"
step "$SPOOL" query "$DB" "SELECT partition, offset, timestamp, key, value FROM orders ORDER BY timestamp DESC LIMIT 5"
step "$SPOOL" query "$DB" "SELECT json_extract(value, '\$.event') AS event, count(*) AS n, round(sum(json_extract(value, '\$.amount')), 2) AS amount FROM orders WHERE value IS NOT NULL GROUP BY event ORDER BY n DESC"
step "$SPOOL" query "$DB" "SELECT offset, key, headers FROM orders WHERE EXISTS (SELECT 1 FROM json_each(orders.headers) AS h WHERE h.value ->> 'key' = 'schema-id') ORDER BY offset LIMIT 3"
printf '\ndemo: done; the database is %s (query it with %s query %s "SELECT ...")\n' "$DB" "$SPOOL" "$DB"
