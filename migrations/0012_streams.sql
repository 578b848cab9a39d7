-- The log keyed by its natural key: each topic partition is a stream with a small id, and each
-- record's row id is stream << 44 | offset. SQLite's own primary key then makes a second copy of
-- a (topic, partition, offset) impossible without a second index to keep, and a partition's
-- records are one row id range in offset order. Offsets must be below 2^44 (17,592,186,044,416);
-- stream ids below 2^19. Applied in one IMMEDIATE transaction with its spool_migrations row; the
-- store checks every stored offset fits before it runs, and logs a line before and after (a
-- capture of 1 GB takes about a minute: see README "Upgrading").

-- One row per topic partition ever stored or tracked. Ids are never reused or removed.
CREATE TABLE streams (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    UNIQUE (topic, partition)
);

-- The captured records: id = stream << 44 | offset; the other columns as in messages.
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    key BLOB,
    value BLOB,
    timestamp INTEGER NOT NULL,
    headers TEXT,
    key_json TEXT,
    value_json TEXT,
    decode_state TEXT
);

INSERT INTO streams (topic, partition)
    SELECT topic, partition FROM partition_state
    UNION SELECT DISTINCT topic, partition FROM messages
    ORDER BY 1, 2;

INSERT INTO records (id, key, value, timestamp, headers, key_json, value_json, decode_state)
    SELECT (s.id << 44) + m.offset, m.key, m.value, m.timestamp, m.headers, m.key_json, m.value_json, m.decode_state
    FROM streams s JOIN messages m ON m.topic = s.topic AND m.partition = s.partition
    ORDER BY s.id, m.offset;

DROP TABLE messages;

CREATE INDEX records_decode_pending ON records (decode_state) WHERE decode_state = 'pending';

-- MESSAGE_SCHEMA's columns, in order, as before: every query of messages keeps working. A
-- partition is a row id range, so `WHERE topic = ...` (and the per-topic views) read only that
-- topic's ranges. A lookup by offset through this view scans its partition; the fast form is
-- SELECT ... FROM records WHERE id = (SELECT id << 44 FROM streams WHERE topic = 'T' AND partition = P) + OFFSET.
CREATE VIEW messages AS
    SELECT r.key AS key, r.value AS value, s.topic AS topic, s.partition AS partition,
           r.id - (s.id << 44) AS offset, r.timestamp AS timestamp, r.headers AS headers,
           r.key_json AS key_json, r.value_json AS value_json, r.decode_state AS decode_state
    FROM streams s JOIN records r ON r.id >= s.id << 44 AND r.id < (s.id + 1) << 44;

-- Writes through the view keep working for people (and scripts) who repair or trim a capture
-- with SQL; Spool itself writes records directly.
CREATE TRIGGER messages_insert INSTEAD OF INSERT ON messages
BEGIN
    SELECT RAISE(ABORT, 'offset out of range: a stored offset must be from 0 to 17592186044415')
    WHERE NEW.offset < 0 OR NEW.offset > 17592186044415;
    INSERT OR IGNORE INTO streams (topic, partition) VALUES (NEW.topic, NEW.partition);
    INSERT INTO records (id, key, value, timestamp, headers, key_json, value_json, decode_state)
    VALUES ((SELECT id << 44 FROM streams WHERE topic = NEW.topic AND partition = NEW.partition) + NEW.offset,
            NEW.key, NEW.value, NEW.timestamp, NEW.headers, NEW.key_json, NEW.value_json, NEW.decode_state);
END;

CREATE TRIGGER messages_delete INSTEAD OF DELETE ON messages
BEGIN
    DELETE FROM records
    WHERE id = (SELECT id << 44 FROM streams WHERE topic = OLD.topic AND partition = OLD.partition) + OLD.offset;
END;

CREATE TRIGGER messages_update INSTEAD OF UPDATE ON messages
BEGIN
    SELECT RAISE(ABORT, 'the topic, partition and offset of a stored record cannot change; delete it and insert it again')
    WHERE NEW.topic IS NOT OLD.topic OR NEW.partition IS NOT OLD.partition OR NEW.offset IS NOT OLD.offset;
    UPDATE records SET key = NEW.key, value = NEW.value, timestamp = NEW.timestamp, headers = NEW.headers,
        key_json = NEW.key_json, value_json = NEW.value_json, decode_state = NEW.decode_state
    WHERE id = (SELECT id << 44 FROM streams WHERE topic = OLD.topic AND partition = OLD.partition) + OLD.offset;
END;
