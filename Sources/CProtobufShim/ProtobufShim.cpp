// The schema half of the shim: a descriptor pool per Schema Registry schema, built from its files
// (serialized FileDescriptorProtos or .proto text), its references and the well-known imports.
#include "protobuf_shim.h"

#include "BuiltinProtos.h"
#include "JsonWriter.h"

#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace pb = google::protobuf;

namespace {

/// Keeps the first error of a pool build (the pool reports through it for as long as it lives).
class PoolErrors : public pb::DescriptorPool::ErrorCollector {
  public:
    void AddError(const std::string &filename, const std::string &element_name, const pb::Message *,
                  ErrorLocation, const std::string &message) override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (first_.empty()) first_ = filename + ": " + (element_name.empty() ? "" : element_name + ": ") + message;
    }
    std::string First() {
        std::lock_guard<std::mutex> lock(mutex_);
        return first_;
    }

  private:
    std::mutex mutex_;
    std::string first_;
};

/// Keeps the first error of a .proto text parse, with its line and column (1-based).
class TextErrors : public pb::io::ErrorCollector {
  public:
    void AddError(int line, pb::io::ColumnNumber column, const std::string &message) override {
        if (first_.empty()) first_ = "line " + std::to_string(line + 1) + ", column " + std::to_string(column + 1) + ": " + message;
    }
    std::string first_;
};

void Give(void *context, SpoolProtobufSink sink, const std::string &text) {
    if (sink != nullptr) sink(context, text.data(), text.size());
}

bool ParseText(const std::string &name, const char *bytes, size_t count, pb::FileDescriptorProto *proto,
               std::string *error) {
    pb::io::ArrayInputStream input(bytes, static_cast<int>(count));
    TextErrors errors;
    pb::io::Tokenizer tokenizer(&input, &errors);
    pb::compiler::Parser parser;
    parser.RecordErrorsTo(&errors);
    if (!parser.Parse(&tokenizer, proto) || !errors.first_.empty()) {
        *error = "the .proto text of " + name + " does not parse: " + (errors.first_.empty() ? "unknown error" : errors.first_);
        return false;
    }
    return true;
}

}  // namespace

struct SpoolProtobufSchema {
    // Declaration order is destruction order reversed: the factory's prototypes go before the
    // pool's descriptors, the pool before the database and the collector it points to.
    pb::SimpleDescriptorDatabase database;
    PoolErrors errors;
    std::unique_ptr<pb::DescriptorPool> pool;
    std::unique_ptr<pb::DynamicMessageFactory> factory;
    const pb::FileDescriptor *file = nullptr;
};

namespace {

/// Adds every import the database lacks from the built-in files; false (with `error`) for one
/// that is neither given nor built in.
bool AddImports(SpoolProtobufSchema *schema, std::vector<std::string> pending, std::string *error) {
    std::set<std::string> seen;
    while (!pending.empty()) {
        std::string name = pending.back();
        pending.pop_back();
        if (!seen.insert(name).second) continue;
        pb::FileDescriptorProto existing;
        if (schema->database.FindFileByName(name, &existing)) {
            for (const std::string &dependency : existing.dependency()) pending.push_back(dependency);
            continue;
        }
        pb::FileDescriptorProto proto;
        if (const pb::FileDescriptor *generated = pb::DescriptorPool::generated_pool()->FindFileByName(name)) {
            generated->CopyTo(&proto);
        } else if (const char *text = spool_protobuf::BuiltinProtoText(name)) {
            if (!ParseText(name, text, std::char_traits<char>::length(text), &proto, error)) return false;
            proto.set_name(name);
        } else if (spool_protobuf::IsBuiltinImport(name)) {
            *error = "it imports " + name + ", a well-known file Spool does not carry";
            return false;
        } else {
            *error = "it imports " + name + ", which is not among the schema's references";
            return false;
        }
        if (!schema->database.Add(proto)) {
            *error = "cannot add the well-known file " + name;
            return false;
        }
        for (const std::string &dependency : proto.dependency()) pending.push_back(dependency);
    }
    return true;
}

}  // namespace

extern "C" SpoolProtobufSchema *spool_protobuf_schema_new(const SpoolProtobufFile *files, size_t count, void *context,
                                                          SpoolProtobufSink sink) {
    if (count == 0) {
        Give(context, sink, "no file given");
        return nullptr;
    }
    std::unique_ptr<SpoolProtobufSchema> schema(new SpoolProtobufSchema());
    std::vector<std::string> imports;
    std::string error;
    for (size_t i = 0; i < count; i++) {
        const SpoolProtobufFile &file = files[i];
        std::string name = file.name != nullptr ? file.name : "";
        pb::FileDescriptorProto proto;
        if (file.kind == SPOOL_PROTOBUF_SERIALIZED) {
            if (!proto.ParseFromArray(file.bytes, static_cast<int>(file.count))) {
                Give(context, sink, "the serialized descriptor of " + name + " is not a FileDescriptorProto");
                return nullptr;
            }
        } else if (!ParseText(name, static_cast<const char *>(file.bytes), file.count, &proto, &error)) {
            Give(context, sink, error);
            return nullptr;
        }
        proto.set_name(name);
        if (!schema->database.Add(proto)) {
            Give(context, sink, "cannot add " + name + " (given twice, or it declares a name another file declares)");
            return nullptr;
        }
        for (const std::string &dependency : proto.dependency()) imports.push_back(dependency);
    }
    if (!AddImports(schema.get(), imports, &error)) {
        Give(context, sink, error);
        return nullptr;
    }
    schema->pool.reset(new pb::DescriptorPool(&schema->database, &schema->errors));
    std::string main = files[count - 1].name != nullptr ? files[count - 1].name : "";
    schema->file = schema->pool->FindFileByName(main);
    if (schema->file == nullptr) {
        std::string reason = schema->errors.First();
        Give(context, sink, "the schema does not build: " + (reason.empty() ? "unknown error" : reason));
        return nullptr;
    }
    schema->factory.reset(new pb::DynamicMessageFactory(schema->pool.get()));
    schema->factory->SetDelegateToGeneratedFactory(false);
    return schema.release();
}

extern "C" void spool_protobuf_schema_free(SpoolProtobufSchema *schema) { delete schema; }

namespace {

const pb::Descriptor *FindMessage(const SpoolProtobufSchema *schema, const int64_t *indexes, size_t count,
                                  std::string *error) {
    if (count == 0) {
        *error = "no message index";
        return nullptr;
    }
    const pb::Descriptor *message = nullptr;
    for (size_t i = 0; i < count; i++) {
        int64_t index = indexes[i];
        int64_t available = i == 0 ? schema->file->message_type_count() : message->nested_type_count();
        if (index < 0 || index >= available) {
            std::string where = i == 0 ? "top-level messages in the schema" : "nested types in " + message->full_name();
            *error = "message index " + std::to_string(index) + " (position " + std::to_string(i + 1) +
                     ") is out of range: there are " + std::to_string(available) + " " + where;
            return nullptr;
        }
        message = i == 0 ? schema->file->message_type(static_cast<int>(index)) : message->nested_type(static_cast<int>(index));
    }
    return message;
}

}  // namespace

extern "C" int spool_protobuf_message_name(const SpoolProtobufSchema *schema, const int64_t *indexes, size_t index_count,
                                           void *context, SpoolProtobufSink sink) {
    std::string error;
    const pb::Descriptor *message = FindMessage(schema, indexes, index_count, &error);
    Give(context, sink, message != nullptr ? message->full_name() : error);
    return message != nullptr ? 1 : 0;
}

extern "C" int spool_protobuf_decode(const SpoolProtobufSchema *schema, const int64_t *indexes, size_t index_count,
                                     const void *bytes, size_t count, int max_depth, void *context, SpoolProtobufSink sink) {
    std::string error;
    const pb::Descriptor *descriptor = FindMessage(schema, indexes, index_count, &error);
    if (descriptor == nullptr) {
        Give(context, sink, error);
        return 0;
    }
    const pb::Message *prototype = schema->factory->GetPrototype(descriptor);
    std::unique_ptr<pb::Message> message(prototype->New());
    if (!message->ParseFromArray(bytes, static_cast<int>(count))) {
        Give(context, sink, "the bytes are not a valid " + descriptor->full_name() + " message");
        return 0;
    }
    std::string json;
    spool_protobuf::JsonWriter writer(schema->pool.get(), schema->factory.get(), max_depth, &json);
    if (!writer.Write(*message)) {
        Give(context, sink, writer.error());
        return 0;
    }
    Give(context, sink, json);
    return 1;
}
