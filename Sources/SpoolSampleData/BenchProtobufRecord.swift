import SpoolModel

/// The benchmark's Protobuf record: the same 10-field order as `BenchAvroRecord` (strings, an
/// int64, a double, `optional` fields, an enum, a repeated field and a nested message), as real
/// Protobuf binary of the message `spool.bench.Order` in `proto`, framed the Confluent way with
/// schema id `schemaID` and the message indexes `[0]` (the single byte `00`).
///
/// Register `serializedDescriptor` (a `FileDescriptorProto` of `proto`, what a producer's
/// serializer registers and `?format=serialized` answers) as that id in the registry the
/// benchmark runs.
public enum BenchProtobufRecord {
    /// The id the records are framed with.
    public static let schemaID: Int32 = 1

    /// The `.proto` the records are written in.
    public static let proto = """
        syntax = "proto3";
        package spool.bench;

        message Order {
          string order_id = 1;
          Customer customer = 2;
          double amount = 3;
          int64 quantity = 4;
          Status status = 5;
          optional string coupon = 6;
          repeated string tags = 7;
          int64 created_at = 8;
          string channel = 9;
          optional string note = 10;

          message Customer {
            int64 id = 1;
            string country = 2;
          }
          enum Status {
            NEW = 0;
            PAID = 1;
            SHIPPED = 2;
            CANCELLED = 3;
          }
        }

        """

    /// `proto` as a serialized `google.protobuf.FileDescriptorProto` (descriptor.proto's field
    /// numbers; each `optional` field in a synthetic oneof of its own, as protoc writes it).
    public static let serializedDescriptor: [UInt8] = {
        var file = ProtobufWire()
        file.string(1, "spool_bench.proto")
        file.string(2, "spool.bench")
        file.message(4) { order in
            order.string(1, "Order")
            // name, number, label (1 optional, 3 repeated), type (1 double, 3 int64, 9 string,
            // 11 message, 14 enum), type name, synthetic oneof index.
            let fields: [(String, Int, Int, Int, String?, Int?)] = [
                ("order_id", 1, 1, 9, nil, nil), ("customer", 2, 1, 11, ".spool.bench.Order.Customer", nil),
                ("amount", 3, 1, 1, nil, nil), ("quantity", 4, 1, 3, nil, nil),
                ("status", 5, 1, 14, ".spool.bench.Order.Status", nil), ("coupon", 6, 1, 9, nil, 0),
                ("tags", 7, 3, 9, nil, nil), ("created_at", 8, 1, 3, nil, nil), ("channel", 9, 1, 9, nil, nil),
                ("note", 10, 1, 9, nil, 1),
            ]
            for (name, number, label, type, typeName, oneof) in fields {
                order.message(2) { field in
                    field.string(1, name)
                    field.varint(3, UInt64(number))
                    field.varint(4, UInt64(label))
                    field.varint(5, UInt64(type))
                    if let typeName { field.string(6, typeName) }
                    if let oneof {
                        field.varint(9, UInt64(oneof))
                        field.varint(17, 1)
                    }
                }
            }
            order.message(3) { customer in
                customer.string(1, "Customer")
                customer.message(2) { field in field.string(1, "id"); field.varint(3, 1); field.varint(4, 1); field.varint(5, 3) }
                customer.message(2) { field in field.string(1, "country"); field.varint(3, 2); field.varint(4, 1); field.varint(5, 9) }
            }
            order.message(4) { status in
                status.string(1, "Status")
                for (number, name) in ["NEW", "PAID", "SHIPPED", "CANCELLED"].enumerated() {
                    status.message(2) { value in
                        value.string(1, name)
                        if number != 0 { value.varint(2, UInt64(number)) }
                    }
                }
            }
            order.message(8) { $0.string(1, "_coupon") }
            order.message(8) { $0.string(1, "_note") }
        }
        file.string(12, "proto3")
        return file.bytes
    }()

    /// `serializedDescriptor` in base64, as a registry holds and answers it.
    public static var serializedDescriptorBase64: String { Base64.encode(serializedDescriptor) }

    private static let countries = ["DE", "FR", "US", "JP", "BR", "IN", "NL"]
    private static let channels = ["web", "app", "store"]
    private static let tags = ["gift", "express", "bulk", "promo"]

    /// Record `index`, framed: a zero byte, the big-endian schema id, the message indexes `[0]`
    /// as the single byte `00`, then the message. Its values follow `BenchAvroRecord`'s; proto3
    /// leaves out fields at their default (0, "", the first enum value), as every encoder does.
    public static func framed(_ index: Int) -> [UInt8] {
        var out = ProtobufWire()
        out.bytes = [0]
        withUnsafeBytes(of: schemaID.bigEndian) { out.bytes.append(contentsOf: $0) }
        out.bytes.append(0)
        let digits = String(index)
        out.string(1, "order-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits)
        out.message(2) { customer in
            if index % 50_000 != 0 { customer.varint(1, UInt64(index % 50_000)) }
            customer.string(2, countries[index % countries.count])
        }
        if index % 100_000 != 0 { out.double(3, Double(index % 100_000) / 100) }
        out.varint(4, UInt64(1 + index % 9))
        if index % 4 != 0 { out.varint(5, UInt64(index % 4)) }
        if index % 3 == 0 { out.string(6, "SAVE10") }
        for tag in 0..<index % 3 { out.string(7, tags[(index + tag) % tags.count]) }
        out.varint(8, UInt64(1_700_000_000_000 + index))
        out.string(9, channels[index % channels.count])
        return out.bytes
    }
}

/// Protobuf wire format (https://protobuf.dev/programming-guides/encoding/): the few field
/// kinds the benchmark's record and its descriptor need.
struct ProtobufWire {
    /// What was written so far.
    var bytes: [UInt8] = []

    private mutating func rawVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A varint field (wire type 0).
    mutating func varint(_ field: Int, _ value: UInt64) {
        rawVarint(UInt64(field << 3))
        rawVarint(value)
    }

    /// A 64-bit double field (wire type 1), little-endian.
    mutating func double(_ field: Int, _ value: Double) {
        rawVarint(UInt64(field << 3 | 1))
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A length-delimited field (wire type 2) holding `text` as UTF-8.
    mutating func string(_ field: Int, _ text: String) {
        rawVarint(UInt64(field << 3 | 2))
        rawVarint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    /// A length-delimited field (wire type 2) holding the message `body` writes.
    mutating func message(_ field: Int, _ body: (inout ProtobufWire) -> Void) {
        var inner = ProtobufWire()
        body(&inner)
        rawVarint(UInt64(field << 3 | 2))
        rawVarint(UInt64(inner.bytes.count))
        bytes.append(contentsOf: inner.bytes)
    }
}
