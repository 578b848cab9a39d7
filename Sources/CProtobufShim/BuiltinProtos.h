// Built-in imports (see BuiltinProtos.cpp). Internal to the shim.
#ifndef SPOOL_BUILTIN_PROTOS_H
#define SPOOL_BUILTIN_PROTOS_H

#include <string>

namespace spool_protobuf {

/// The .proto text of a built-in file Spool carries (google/type/*, confluent/*), or nullptr.
const char *BuiltinProtoText(const std::string &name);

/// Whether `name` is an import every registry client treats as built in (never a reference).
bool IsBuiltinImport(const std::string &name);

}  // namespace spool_protobuf

#endif
