// Spool's C API over the Protobuf C++ runtime (libprotobuf 3.21): builds a descriptor pool for
// one Schema Registry schema and writes a message's bytes as Spool's JSON. No C++ type and no
// pointer owned by C++ crosses this header except the opaque SpoolProtobufSchema handle.
#ifndef SPOOL_PROTOBUF_SHIM_H
#define SPOOL_PROTOBUF_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Receives text (JSON on success, a reason on failure). The bytes are valid only during the call.
typedef void (*SpoolProtobufSink)(void *context, const char *bytes, size_t count);

/// How a file's bytes are written.
enum {
    /// A serialized google.protobuf.FileDescriptorProto (the registry's `format=serialized`).
    SPOOL_PROTOBUF_SERIALIZED = 0,
    /// `.proto` source text.
    SPOOL_PROTOBUF_TEXT = 1
};

/// One file of a schema: `name` is its import path (how other files import it).
typedef struct {
    const char *name;
    const void *bytes;
    size_t count;
    int kind;
} SpoolProtobufFile;

/// A built schema: a descriptor pool holding the files and the well-known ones. Immutable once
/// built; decoding with it from several threads at once is safe.
typedef struct SpoolProtobufSchema SpoolProtobufSchema;

/// Builds a schema from `files` (the last one is the schema itself, the others its references,
/// in any order). Imports of google/protobuf/*, google/type/*, confluent/meta.proto and
/// confluent/type/decimal.proto are built in. Returns NULL and gives the reason to `sink` when a
/// file does not parse or an import is missing. Free the result with spool_protobuf_schema_free.
SpoolProtobufSchema *spool_protobuf_schema_new(const SpoolProtobufFile *files, size_t count, void *context,
                                               SpoolProtobufSink sink);

/// Frees a schema made by spool_protobuf_schema_new (NULL is ignored).
void spool_protobuf_schema_free(SpoolProtobufSchema *schema);

/// Gives `sink` the full name of the message that `indexes` point to and returns 1, or gives
/// the reason and returns 0.
int spool_protobuf_message_name(const SpoolProtobufSchema *schema, const int64_t *indexes, size_t index_count,
                                void *context, SpoolProtobufSink sink);

/// Parses `bytes` as the message that `indexes` point to (the first counts the file's top-level
/// messages, each next one the nested types of the previous) and gives `sink` its JSON; returns
/// 1. On failure (an index out of range, bytes that are not such a message, messages nested
/// deeper than `max_depth`) gives `sink` the reason and returns 0.
int spool_protobuf_decode(const SpoolProtobufSchema *schema, const int64_t *indexes, size_t index_count,
                          const void *bytes, size_t count, int max_depth, void *context, SpoolProtobufSink sink);

#ifdef __cplusplus
}
#endif

#endif
