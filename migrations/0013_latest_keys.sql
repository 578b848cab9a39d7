-- Keyed tables that point into the log: a `--latest` topic keeps, per key, only the row id of
-- its latest record in `records` (the log holds the record already); a `--latest-only` topic,
-- which keeps no log, keeps the record's values as before. `latest` becomes a view over both
-- with the columns it had, so every query of `latest` and of the "topic:latest" views keeps
-- working. Applied in one IMMEDIATE transaction with its spool_migrations row.

-- The records whose values are kept in the table: every key of a `--latest-only` topic, and
-- keys of a `--latest` topic whose record the log no longer holds (the capture's retention
-- removed it, or the file predates this migration).
CREATE TABLE latest_values (
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    headers TEXT,
    key_json TEXT,
    value_json TEXT,
    decode_state TEXT,
    PRIMARY KEY (topic, key)
);
INSERT INTO latest_values (topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state)
    SELECT topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state FROM latest;
DROP TABLE latest;
CREATE INDEX latest_values_decode_pending ON latest_values (decode_state) WHERE decode_state = 'pending';

-- Per key of a `--latest` topic: the row id (stream << 44 | offset) of its latest record in
-- `records`. Retention moves a key to latest_values before it removes the record, so a pointer
-- never outlives its row. A key is in one of the two tables, never both.
CREATE TABLE latest_keys (
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    id INTEGER NOT NULL,
    PRIMARY KEY (topic, key)
) WITHOUT ROWID;

CREATE VIEW latest AS
    SELECT topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state FROM latest_values
    UNION ALL
    SELECT l.topic, l.key, r.value, s.partition, l.id - (s.id << 44), r.timestamp, r.headers, r.key_json, r.value_json, r.decode_state
    FROM latest_keys l JOIN records r ON r.id = l.id JOIN streams s ON s.id = l.id >> 44;
