// Writes a parsed message as Spool's JSON (see JsonWriter.cpp). Internal to the shim.
#ifndef SPOOL_JSON_WRITER_H
#define SPOOL_JSON_WRITER_H

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>

namespace spool_protobuf {

/// One message's JSON: appends to `out`; on failure `error()` says why.
class JsonWriter {
  public:
    JsonWriter(const google::protobuf::DescriptorPool *pool, google::protobuf::MessageFactory *factory, int max_depth,
               std::string *out)
        : pool_(pool), factory_(factory), max_depth_(max_depth), out_(*out) {}

    /// Writes `message`; false (with `error()`) when it cannot be written.
    bool Write(const google::protobuf::Message &message) { return WriteMessage(message, 1); }

    /// Why the last Write failed.
    const std::string &error() const { return error_; }

  private:
    bool WriteMessage(const google::protobuf::Message &message, int depth);
    bool WriteFields(const google::protobuf::Message &message, int depth, bool first);
    bool WriteWellKnown(const google::protobuf::Message &message, int depth, bool *handled);
    bool WriteValue(const google::protobuf::Message &message, const google::protobuf::FieldDescriptor *field, int index,
                    int depth);
    bool WriteMap(const google::protobuf::Message &message, const google::protobuf::FieldDescriptor *field, int depth);
    bool WriteStructValue(const google::protobuf::Message &message, int depth);
    bool WriteAny(const google::protobuf::Message &message, int depth);
    std::string MapKey(const google::protobuf::Message &entry, const google::protobuf::FieldDescriptor *key);
    bool Fail(const std::string &reason) {
        if (error_.empty()) error_ = reason;
        return false;
    }

    const google::protobuf::DescriptorPool *pool_;
    google::protobuf::MessageFactory *factory_;
    int max_depth_;
    std::string &out_;
    std::string error_;
};

}  // namespace spool_protobuf

#endif
