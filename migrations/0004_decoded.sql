-- Schema Registry decoding: Confluent-framed keys and values decoded to JSON next to the raw
-- bytes, the schemas they were decoded with, and per-topic decode counts.
-- Applied in one IMMEDIATE transaction with its spool_migrations row.

-- key_json / value_json: valid JSON text decoded from a Confluent-framed key or value (Avro or
-- JSON Schema), NULL when the part is not framed or not decoded. decode_state: NULL when
-- nothing in the record is framed; 'decoded'; 'pending' (its schema was not available: the
-- registry was unreachable or not given; `spool decode` finishes it); 'failed' (the bytes do not
-- match the schema, or the schema is not decodable; decode_stats holds the first reason).
ALTER TABLE messages ADD COLUMN key_json TEXT;
ALTER TABLE messages ADD COLUMN value_json TEXT;
ALTER TABLE messages ADD COLUMN decode_state TEXT;
ALTER TABLE latest ADD COLUMN key_json TEXT;
ALTER TABLE latest ADD COLUMN value_json TEXT;
ALTER TABLE latest ADD COLUMN decode_state TEXT;

-- Records captured before this migration that look framed are pending, so `spool decode`
-- finds them.
UPDATE messages SET decode_state = 'pending'
WHERE (length(value) >= 5 AND substr(value, 1, 1) = x'00') OR (length(key) >= 5 AND substr(key, 1, 1) = x'00');
UPDATE latest SET decode_state = 'pending'
WHERE (length(value) >= 5 AND substr(value, 1, 1) = x'00') OR (length(key) >= 5 AND substr(key, 1, 1) = x'00');

-- Only pending rows are indexed: small, and it finds them without a scan.
CREATE INDEX messages_decode_pending ON messages (decode_state) WHERE decode_state = 'pending';
CREATE INDEX latest_decode_pending ON latest (decode_state) WHERE decode_state = 'pending';

-- Every schema used, as the registry gave it, so the capture stays readable without the
-- registry and each id is fetched once. registry is the registry's URL without credentials;
-- references is the registry's references array with each version's resolved id added.
CREATE TABLE schemas (
    registry TEXT NOT NULL,
    id INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema TEXT NOT NULL,
    "references" TEXT,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (registry, id)
) WITHOUT ROWID;

-- Records decoded and failed per topic (pending ones are counted from the index above), and
-- the first failure's reason.
CREATE TABLE decode_stats (
    topic TEXT PRIMARY KEY,
    decoded INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    first_error TEXT,
    first_error_at INTEGER
) WITHOUT ROWID;
