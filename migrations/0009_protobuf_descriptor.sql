-- Protobuf schemas: next to the registry's .proto text in `schema`, the registry's serialized
-- google.protobuf.FileDescriptorProto (GET /schemas/ids/{id}?format=serialized), base64 as the
-- registry sends it. It is what Spool decodes with: it keeps the nested types in the order the
-- producer's message indexes count them (the text can lose where map-entry types sit). NULL for
-- Avro and JSON Schema, and for a registry that could not serialize (the text is used then).
-- Applied in one IMMEDIATE transaction with its spool_migrations row.
ALTER TABLE schemas ADD COLUMN serialized TEXT;
