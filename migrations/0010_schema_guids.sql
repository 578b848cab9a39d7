-- Schemas named by GUID: Confluent Platform 8 clients can put a record's schema in a header
-- (`__key_schema_id` / `__value_schema_id`: a version byte 1 and the schema's 16-byte GUID)
-- instead of framing the payload with the integer id. Such a schema is fetched with
-- GET /schemas/guids/{guid}, whose answer carries no integer id, so it is kept here by its GUID
-- (lowercase, hyphenated), with the same columns as `schemas`; its references are ids, kept in
-- `schemas`. Applied in one IMMEDIATE transaction with its spool_migrations row.
CREATE TABLE schema_guids (
    registry TEXT NOT NULL,
    guid TEXT NOT NULL,
    type TEXT NOT NULL,
    schema TEXT NOT NULL,
    "references" TEXT,
    fetched_at INTEGER NOT NULL,
    serialized TEXT,
    PRIMARY KEY (registry, guid)
) WITHOUT ROWID;
