-- Record headers, Spool's extension to MESSAGE_SCHEMA. Applied in one IMMEDIATE transaction
-- with its spool_migrations row; adding columns does not rewrite the rows already stored.

-- NULL when the record has no headers, else a JSON array with one object per header in the
-- record's order: {"key": ..., "value": "text"}, {"key": ..., "value": null} or
-- {"key": ..., "value_base64": "..."} (see SpoolStore's HeadersJSON).
ALTER TABLE messages ADD COLUMN headers TEXT;

-- The first offset of each partition captured by a Spool that keeps headers. Rows below it were
-- stored before this upgrade and cannot say whether they had headers. Partitions stored from
-- now on start at their replay start offset; existing ones at the next offset they will read.
ALTER TABLE partition_state ADD COLUMN headers_from_offset INTEGER;
UPDATE partition_state SET headers_from_offset = next_offset;

-- The per-topic views are made by the store (one per captured topic); in this same
-- transaction it re-creates the ones it made with the new column.
