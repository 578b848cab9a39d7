// Spool's JSON for a Protobuf message (README, "Protobuf → JSON"): every field of the message in
// declaration order under its .proto name, proto3 scalars with their default when unset, unset
// message and `optional` fields as null, only the set member of a oneof; 64-bit integers as exact
// numbers (uint64 above 2^63-1 as a decimal string); enums by name; bytes in base64; maps as
// objects; the well-known types as plain values (Timestamp like Avro timestamps, wrappers bare,
// Struct/Value/ListValue as the JSON they hold, Any with "@type", confluent.type.Decimal exact).
// Not protobuf's JsonFormat: it leaves defaults out, quotes 64-bit integers and renames fields.
#include "JsonWriter.h"

#include <google/protobuf/reflection.h>

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

namespace pb = google::protobuf;

namespace spool_protobuf {

namespace {

void AppendEscaped(std::string &out, const std::string &text) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    size_t i = 0;
    const size_t n = text.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
            }
            i++;
            continue;
        }
        // A valid UTF-8 sequence is copied; any other byte becomes U+FFFD (proto2 strings are
        // not checked by the parser, and JSON text must be UTF-8).
        size_t length = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        bool valid = length > 0 && i + length <= n;
        for (size_t k = 1; valid && k < length; k++) valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
        if (valid && length == 3) {
            unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
            valid = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
        }
        if (valid && length == 4) {
            unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
            valid = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
        }
        if (valid) {
            out.append(text, i, length);
            i += length;
        } else {
            out += "\xef\xbf\xbd";
            i++;
        }
    }
    out.push_back('"');
}

void AppendBase64(std::string &out, const std::string &bytes) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.push_back('"');
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
        out.push_back(alphabet[v >> 18]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        out.push_back(alphabet[v & 63]);
    }
    if (i + 1 == bytes.size()) {
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
        out.push_back(alphabet[v >> 18]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out += "==";
    } else if (i + 2 == bytes.size()) {
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8;
        out.push_back(alphabet[v >> 18]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        out.push_back('=');
    }
    out.push_back('"');
}

/// The shortest text that reads back as the same number; NaN and infinities as strings (as for Avro).
template <typename F>
void AppendFloating(std::string &out, F value) {
    if (std::isnan(value)) {
        out += "\"NaN\"";
        return;
    }
    if (std::isinf(value)) {
        out += value < 0 ? "\"-Infinity\"" : "\"Infinity\"";
        return;
    }
    // The shortest text that reads back as `value`, fixed or scientific, whichever is shorter
    // (std::to_chars without a format: exact, and `100` rather than `1e+02`).
    char buffer[64];
    std::to_chars_result end = std::to_chars(buffer, buffer + sizeof buffer, value);
    if (end.ec == std::errc()) {
        out.append(buffer, end.ptr);
        return;
    }
    const int maxDigits = sizeof(F) == 4 ? 9 : 17;
    std::snprintf(buffer, sizeof buffer, "%.*g", maxDigits, static_cast<double>(value));
    out += buffer;
}

void AppendUInt64(std::string &out, uint64_t value) {
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        out += "\"" + std::to_string(value) + "\"";
    } else {
        out += std::to_string(value);
    }
}

/// `nanos` as a fraction of 0, 3, 6 or 9 digits (the fewest that are exact), with its dot.
void AppendFraction(std::string &out, int32_t nanos) {
    if (nanos == 0) return;
    char buffer[16];
    if (nanos % 1000000 == 0) {
        std::snprintf(buffer, sizeof buffer, ".%03d", nanos / 1000000);
    } else if (nanos % 1000 == 0) {
        std::snprintf(buffer, sizeof buffer, ".%06d", nanos / 1000);
    } else {
        std::snprintf(buffer, sizeof buffer, ".%09d", nanos);
    }
    out += buffer;
}

/// Days since 1970-01-01 to a civil date (proleptic Gregorian).
void CivilFromDays(int64_t days, int64_t *year, unsigned *month, unsigned *day) {
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = static_cast<int64_t>(yoe) + era * 400 + (*month <= 2 ? 1 : 0);
}

/// An unscaled big-endian two's-complement integer and a scale as an exact decimal string.
std::string DecimalText(const std::string &bytes, int32_t scale) {
    std::vector<uint8_t> magnitude(bytes.begin(), bytes.end());
    bool negative = !magnitude.empty() && (magnitude[0] & 0x80) != 0;
    if (negative) {
        for (uint8_t &b : magnitude) b = static_cast<uint8_t>(~b);
        for (size_t i = magnitude.size(); i-- > 0;) {
            if (++magnitude[i] != 0) break;
        }
    }
    std::string digits;
    while (std::any_of(magnitude.begin(), magnitude.end(), [](uint8_t b) { return b != 0; })) {
        unsigned remainder = 0;
        for (uint8_t &b : magnitude) {
            unsigned current = remainder * 256 + b;
            b = static_cast<uint8_t>(current / 10);
            remainder = current % 10;
        }
        digits.push_back(static_cast<char>('0' + remainder));
    }
    if (digits.empty()) digits = "0";
    std::reverse(digits.begin(), digits.end());
    bool zero = digits == "0";
    if (scale > 0) {
        if (digits.size() <= static_cast<size_t>(scale)) digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
        digits.insert(digits.size() - static_cast<size_t>(scale), ".");
    } else if (scale < 0 && !zero) {
        digits.append(static_cast<size_t>(-static_cast<int64_t>(scale)), '0');
    }
    return (negative && !zero ? "-" : "") + digits;
}

bool IsWrapper(const std::string &name) {
    static const char *const wrappers[] = {
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.BytesValue"};
    for (const char *wrapper : wrappers) {
        if (name == wrapper) return true;
    }
    return false;
}

}  // namespace

bool JsonWriter::WriteMessage(const pb::Message &message, int depth) {
    if (depth > max_depth_) {
        return Fail("messages are nested deeper than " + std::to_string(max_depth_) + " levels (at " +
                    message.GetDescriptor()->full_name() + ")");
    }
    bool handled = false;
    if (!WriteWellKnown(message, depth, &handled)) return false;
    if (handled) return true;
    out_.push_back('{');
    bool ok = WriteFields(message, depth, true);
    out_.push_back('}');
    return ok;
}

bool JsonWriter::WriteFields(const pb::Message &message, int depth, bool first) {
    const pb::Descriptor *descriptor = message.GetDescriptor();
    const pb::Reflection *reflection = message.GetReflection();
    for (int i = 0; i < descriptor->field_count(); i++) {
        const pb::FieldDescriptor *field = descriptor->field(i);
        if (field->real_containing_oneof() != nullptr && !reflection->HasField(message, field)) continue;
        if (!first) out_.push_back(',');
        first = false;
        AppendEscaped(out_, field->name());
        out_.push_back(':');
        if (field->is_map()) {
            if (!WriteMap(message, field, depth)) return false;
        } else if (field->is_repeated()) {
            out_.push_back('[');
            int count = reflection->FieldSize(message, field);
            for (int k = 0; k < count; k++) {
                if (k > 0) out_.push_back(',');
                if (!WriteValue(message, field, k, depth)) return false;
            }
            out_.push_back(']');
        } else if (field->has_presence() && !reflection->HasField(message, field)) {
            out_ += "null";
        } else if (!WriteValue(message, field, -1, depth)) {
            return false;
        }
    }
    return true;
}

bool JsonWriter::WriteValue(const pb::Message &message, const pb::FieldDescriptor *field, int index, int depth) {
    const pb::Reflection *r = message.GetReflection();
    const bool repeated = index >= 0;
    switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
        out_ += std::to_string(repeated ? r->GetRepeatedInt32(message, field, index) : r->GetInt32(message, field));
        return true;
    case pb::FieldDescriptor::CPPTYPE_INT64:
        out_ += std::to_string(repeated ? r->GetRepeatedInt64(message, field, index) : r->GetInt64(message, field));
        return true;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
        out_ += std::to_string(repeated ? r->GetRepeatedUInt32(message, field, index) : r->GetUInt32(message, field));
        return true;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
        AppendUInt64(out_, repeated ? r->GetRepeatedUInt64(message, field, index) : r->GetUInt64(message, field));
        return true;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        AppendFloating(out_, repeated ? r->GetRepeatedDouble(message, field, index) : r->GetDouble(message, field));
        return true;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
        AppendFloating(out_, repeated ? r->GetRepeatedFloat(message, field, index) : r->GetFloat(message, field));
        return true;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
        out_ += (repeated ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field)) ? "true" : "false";
        return true;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
        int number = repeated ? r->GetRepeatedEnumValue(message, field, index) : r->GetEnumValue(message, field);
        const pb::EnumValueDescriptor *value = field->enum_type()->FindValueByNumber(number);
        if (value != nullptr) {
            AppendEscaped(out_, value->name());
        } else {
            out_ += std::to_string(number);
        }
        return true;
    }
    case pb::FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        const std::string &text = repeated ? r->GetRepeatedStringReference(message, field, index, &scratch)
                                           : r->GetStringReference(message, field, &scratch);
        if (field->type() == pb::FieldDescriptor::TYPE_BYTES) {
            AppendBase64(out_, text);
        } else {
            AppendEscaped(out_, text);
        }
        return true;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        return WriteMessage(repeated ? r->GetRepeatedMessage(message, field, index) : r->GetMessage(message, field, factory_),
                            depth + 1);
    }
    return Fail("field " + field->full_name() + " has a type Spool does not know");
}

std::string JsonWriter::MapKey(const pb::Message &entry, const pb::FieldDescriptor *key) {
    const pb::Reflection *r = entry.GetReflection();
    switch (key->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: return std::to_string(r->GetInt32(entry, key));
    case pb::FieldDescriptor::CPPTYPE_INT64: return std::to_string(r->GetInt64(entry, key));
    case pb::FieldDescriptor::CPPTYPE_UINT32: return std::to_string(r->GetUInt32(entry, key));
    case pb::FieldDescriptor::CPPTYPE_UINT64: return std::to_string(r->GetUInt64(entry, key));
    case pb::FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(entry, key) ? "true" : "false";
    default: return r->GetString(entry, key);
    }
}

bool JsonWriter::WriteMap(const pb::Message &message, const pb::FieldDescriptor *field, int depth) {
    const pb::Reflection *r = message.GetReflection();
    const pb::Descriptor *entryType = field->message_type();
    const pb::FieldDescriptor *key = entryType->map_key();
    const pb::FieldDescriptor *value = entryType->map_value();
    // Keys sorted (as text) so that the same map always gives the same JSON.
    std::vector<std::pair<std::string, int>> keys;
    int count = r->FieldSize(message, field);
    for (int k = 0; k < count; k++) keys.emplace_back(MapKey(r->GetRepeatedMessage(message, field, k), key), k);
    std::sort(keys.begin(), keys.end());
    out_.push_back('{');
    bool first = true;
    for (size_t k = 0; k < keys.size(); k++) {
        // A key seen twice keeps its last entry, as a parsed map does.
        if (k + 1 < keys.size() && keys[k + 1].first == keys[k].first) continue;
        if (!first) out_.push_back(',');
        first = false;
        AppendEscaped(out_, keys[k].first);
        out_.push_back(':');
        const pb::Message &entry = r->GetRepeatedMessage(message, field, keys[k].second);
        if (value->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !entry.GetReflection()->HasField(entry, value)) {
            // An entry without its value holds the value type's default.
            std::unique_ptr<pb::Message> empty(factory_->GetPrototype(value->message_type())->New());
            if (!WriteMessage(*empty, depth + 1)) return false;
        } else if (!WriteValue(entry, value, -1, depth)) {
            return false;
        }
    }
    out_.push_back('}');
    return true;
}

bool JsonWriter::WriteWellKnown(const pb::Message &message, int depth, bool *handled) {
    const pb::Descriptor *d = message.GetDescriptor();
    const std::string &name = d->full_name();
    const pb::Reflection *r = message.GetReflection();
    *handled = true;
    if (name == "google.protobuf.Timestamp") {
        int64_t seconds = r->GetInt64(message, d->field(0));
        int32_t nanos = r->GetInt32(message, d->field(1));
        // 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, as protobuf defines it.
        if (seconds < -62135596800LL || seconds > 253402300799LL || nanos < 0 || nanos > 999999999) {
            return Fail("a google.protobuf.Timestamp is out of range (seconds " + std::to_string(seconds) + ", nanos " +
                        std::to_string(nanos) + ")");
        }
        int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
        int64_t rest = seconds - days * 86400;
        int64_t year;
        unsigned month, day;
        CivilFromDays(days, &year, &month, &day);
        char buffer[40];
        std::snprintf(buffer, sizeof buffer, "\"%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", year, month, day,
                      static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60));
        out_ += buffer;
        AppendFraction(out_, nanos);
        out_ += "Z\"";
        return true;
    }
    if (name == "google.protobuf.Duration") {
        int64_t seconds = r->GetInt64(message, d->field(0));
        int32_t nanos = r->GetInt32(message, d->field(1));
        if (nanos < -999999999 || nanos > 999999999 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
            return Fail("a google.protobuf.Duration is invalid (seconds " + std::to_string(seconds) + ", nanos " +
                        std::to_string(nanos) + ")");
        }
        out_ += "\"";
        if (seconds < 0 || nanos < 0) out_ += "-";
        out_ += std::to_string(seconds < 0 ? -static_cast<uint64_t>(seconds) : static_cast<uint64_t>(seconds));
        AppendFraction(out_, nanos < 0 ? -nanos : nanos);
        out_ += "s\"";
        return true;
    }
    if (IsWrapper(name)) return WriteValue(message, d->field(0), -1, depth);
    if (name == "google.protobuf.Struct") return WriteMap(message, d->field(0), depth);
    if (name == "google.protobuf.Value") return WriteStructValue(message, depth);
    if (name == "google.protobuf.ListValue") {
        const pb::FieldDescriptor *values = d->field(0);
        out_.push_back('[');
        for (int k = 0; k < r->FieldSize(message, values); k++) {
            if (k > 0) out_.push_back(',');
            if (!WriteMessage(r->GetRepeatedMessage(message, values, k), depth + 1)) return false;
        }
        out_.push_back(']');
        return true;
    }
    if (name == "google.protobuf.Any") return WriteAny(message, depth);
    if (name == "confluent.type.Decimal") {
        const pb::FieldDescriptor *value = d->FindFieldByNumber(1);
        const pb::FieldDescriptor *scale = d->FindFieldByNumber(3);
        if (value == nullptr || scale == nullptr || value->type() != pb::FieldDescriptor::TYPE_BYTES ||
            scale->cpp_type() != pb::FieldDescriptor::CPPTYPE_INT32) {
            *handled = false;
            return true;
        }
        out_ += "\"" + DecimalText(r->GetString(message, value), r->GetInt32(message, scale)) + "\"";
        return true;
    }
    *handled = false;
    return true;
}

bool JsonWriter::WriteStructValue(const pb::Message &message, int depth) {
    const pb::Descriptor *d = message.GetDescriptor();
    const pb::Reflection *r = message.GetReflection();
    for (int i = 0; i < d->field_count(); i++) {
        const pb::FieldDescriptor *field = d->field(i);
        if (!r->HasField(message, field)) continue;
        if (field->name() == "null_value") {
            out_ += "null";
            return true;
        }
        return WriteValue(message, field, -1, depth);
    }
    out_ += "null";
    return true;
}

bool JsonWriter::WriteAny(const pb::Message &message, int depth) {
    const pb::Descriptor *d = message.GetDescriptor();
    const pb::Reflection *r = message.GetReflection();
    std::string url = r->GetString(message, d->FindFieldByNumber(1));
    std::string payload = r->GetString(message, d->FindFieldByNumber(2));
    out_.push_back('{');
    AppendEscaped(out_, "@type");
    out_.push_back(':');
    AppendEscaped(out_, url);
    size_t slash = url.rfind('/');
    const pb::Descriptor *type = pool_->FindMessageTypeByName(slash == std::string::npos ? url : url.substr(slash + 1));
    if (type == nullptr) {
        // Not in this schema's pool: the bytes as they are.
        out_ += ",\"value\":";
        AppendBase64(out_, payload);
        out_.push_back('}');
        return true;
    }
    std::unique_ptr<pb::Message> inner(factory_->GetPrototype(type)->New());
    if (!inner->ParseFromString(payload)) return Fail("the google.protobuf.Any value is not a valid " + type->full_name());
    size_t mark = out_.size();
    bool handled = false;
    out_ += ",\"value\":";
    if (!WriteWellKnown(*inner, depth + 1, &handled)) return false;
    if (!handled) {
        out_.resize(mark);
        if (depth + 1 > max_depth_) return Fail("messages are nested deeper than " + std::to_string(max_depth_) + " levels");
        if (!WriteFields(*inner, depth + 1, false)) return false;
    }
    out_.push_back('}');
    return true;
}

}  // namespace spool_protobuf
