import SpoolModel

/// Reads one Avro binary datum and writes it as plain JSON: records as objects, unions as the
/// bare value, enums as their symbol, bytes and fixed as base64, logical types as `AvroLogicalText`.
struct AvroDatumDecoder {
    private let schema: AvroSchema
    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0
    /// Deeper than this (a recursive schema fed a long chain) is refused instead of overflowing the stack.
    /// Counts named types, arrays and maps. A level costs about 10 KB of stack in a debug build, so
    /// 1,000 overflowed an 8 MB thread stack; 200 leaves a wide margin and is far beyond real data.
    static let maxDepth = 200

    init(schema: AvroSchema, bytes: UnsafeRawBufferPointer) {
        self.schema = schema
        self.bytes = bytes
    }

    mutating func decodeDatum(into out: inout [UInt8]) throws(AvroDecodeError) {
        try decode(schema.root, into: &out)
        guard index == bytes.count else {
            throw fail("\(bytes.count - index) bytes left over after the datum (the payload does not match its schema)")
        }
    }

    private func fail(_ reason: String) -> AvroDecodeError { AvroDecodeError(reason: reason, offset: index) }

    private mutating func decode(_ node: AvroNode, into out: inout [UInt8]) throws(AvroDecodeError) {
        switch node {
        case .null: out.append(contentsOf: "null".utf8)
        case .boolean:
            let byte = try readByte()
            guard byte <= 1 else { throw fail("boolean byte \(byte) is neither 0 nor 1") }
            out.append(contentsOf: (byte == 1 ? "true" : "false").utf8)
        case .int: out.append(contentsOf: String(try readInt()).utf8)
        case .long: out.append(contentsOf: String(try readLong()).utf8)
        case .float: AvroLogicalText.appendNumber(Float(bitPattern: try readFixedWidth(4).low32), to: &out)
        case .double: AvroLogicalText.appendNumber(Double(bitPattern: try readFixedWidth(8)), to: &out)
        case .bytes: JSONWriter.appendBase64(try readSized(), to: &out)
        case .string:
            let text = try readSized()
            guard UTF8Validation.isValid(text) else { throw fail("string is not valid UTF-8") }
            JSONWriter.appendString(text, to: &out, escaping: .namedBackspaceAndFormFeed)
        case .fixed(_, let size): JSONWriter.appendBase64(try take(size), to: &out)
        case .named(let definition): try decodeNamed(schema.named[definition], into: &out)
        case .record(_, let fields): try decodeRecord(fields, into: &out)
        case .enumeration(_, let symbols):
            let choice = try readInt()
            guard choice >= 0, Int(choice) < symbols.count else { throw fail("enum index \(choice) is not one of \(symbols.count) symbols") }
            out.append(contentsOf: symbols[Int(choice)])
        case .array(let items): try decodeBlocks(into: &out, open: "[", close: "]") { (decoder: inout AvroDatumDecoder, out: inout [UInt8]) throws(AvroDecodeError) in
            try decoder.decode(items, into: &out)
        }
        case .map(let values): try decodeBlocks(into: &out, open: "{", close: "}") { (decoder: inout AvroDatumDecoder, out: inout [UInt8]) throws(AvroDecodeError) in
            let key = try decoder.readSized()
            guard UTF8Validation.isValid(key) else { throw decoder.fail("map key is not valid UTF-8") }
            JSONWriter.appendString(key, to: &out, escaping: .namedBackspaceAndFormFeed)
            out.append(UInt8(ascii: ":"))
            try decoder.decode(values, into: &out)
        }
        case .union(let branches):
            let choice = try readLong()
            guard choice >= 0, choice < branches.count else { throw fail("union branch \(choice) is not one of \(branches.count)") }
            try decode(branches[Int(choice)], into: &out)
        case .logical(let logical, let base): try decodeLogical(logical, base: base, into: &out)
        }
    }

    private mutating func decodeNamed(_ node: AvroNode, into out: inout [UInt8]) throws(AvroDecodeError) {
        depth += 1
        defer { depth -= 1 }
        try checkDepth()
        try decode(node, into: &out)
    }

    private func checkDepth() throws(AvroDecodeError) {
        guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
    }

    private mutating func decodeRecord(_ fields: [AvroField], into out: inout [UInt8]) throws(AvroDecodeError) {
        out.append(UInt8(ascii: "{"))
        for (position, field) in fields.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: field.jsonKey)
            do {
                try decode(field.type, into: &out)
            } catch {
                var located = error
                located.path.insert(field.name, at: 0)
                throw located
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Arrays and maps: blocks of items, each block a count (negative: followed by its byte
    /// size), ended by a zero count.
    private mutating func decodeBlocks(into out: inout [UInt8], open: Character, close: Character,
                                       item: (inout AvroDatumDecoder, inout [UInt8]) throws(AvroDecodeError) -> Void) throws(AvroDecodeError) {
        depth += 1
        defer { depth -= 1 }
        try checkDepth()
        out.append(open.asciiValue!)
        var first = true
        while true {
            var count = try readLong()
            if count == 0 { break }
            if count < 0 {
                guard count != .min else { throw fail("block count out of range") }
                count = -count
                _ = try readLong()
            }
            // Every item takes at least one byte, except zero-width ones (null, empty record);
            // a count far beyond what is left is corrupt data, not a reason to spin.
            guard count <= bytes.count - index + 100_000 else { throw fail("block of \(count) items with \(bytes.count - index) bytes left") }
            for _ in 0..<count {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                try item(&self, &out)
            }
        }
        out.append(close.asciiValue!)
    }

    private mutating func decodeLogical(_ logical: AvroLogicalType, base: AvroNode, into out: inout [UInt8]) throws(AvroDecodeError) {
        switch logical {
        case .decimal(_, let scale):
            let unscaled: UnsafeRawBufferPointer
            if case .named(let definition) = base, case .fixed(_, let size) = schema.named[definition] {
                unscaled = try take(size)
            } else {
                unscaled = try readSized()
            }
            out.append(UInt8(ascii: "\""))
            AvroLogicalText.appendDecimal(twosComplement: unscaled, scale: scale, to: &out)
            out.append(UInt8(ascii: "\""))
        case .uuid: try decode(base, into: &out)
        case .date: AvroLogicalText.appendQuoted(AvroLogicalText.date(days: Int64(try readInt())), to: &out)
        case .timeMillis: AvroLogicalText.appendQuoted(AvroLogicalText.timeOfDay(Int64(try readInt()), digits: 3), to: &out)
        case .timeMicros: AvroLogicalText.appendQuoted(AvroLogicalText.timeOfDay(try readLong(), digits: 6), to: &out)
        case .timestampMillis, .timestampMicros, .timestampNanos, .localTimestampMillis, .localTimestampMicros, .localTimestampNanos:
            AvroLogicalText.appendQuoted(AvroLogicalText.timestamp(try readLong(), logical), to: &out)
        case .duration:
            let raw = try take(12)
            let months = raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian
            let days = raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            let millis = raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
            out.append(contentsOf: "{\"months\":\(months),\"days\":\(days),\"milliseconds\":\(millis)}".utf8)
        }
    }

    // MARK: primitives

    private mutating func readByte() throws(AvroDecodeError) -> UInt8 {
        guard index < bytes.count else { throw fail("payload ends early") }
        defer { index += 1 }
        return bytes[index]
    }

    /// A zig-zag varint of at most 10 bytes.
    private mutating func readLong() throws(AvroDecodeError) -> Int64 {
        var raw: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            raw |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            guard shift < 64 else { throw fail("varint longer than 10 bytes") }
        }
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    private mutating func readInt() throws(AvroDecodeError) -> Int32 {
        let value = try readLong()
        guard let narrow = Int32(exactly: value) else { throw fail("int \(value) does not fit in 32 bits") }
        return narrow
    }

    private mutating func readFixedWidth(_ width: Int) throws(AvroDecodeError) -> UInt64 {
        let raw = try take(width)
        var value: UInt64 = 0
        for position in (0..<width).reversed() { value = value << 8 | UInt64(raw[position]) }
        return value
    }

    private mutating func readSized() throws(AvroDecodeError) -> UnsafeRawBufferPointer {
        let length = try readLong()
        guard length >= 0 else { throw fail("negative length \(length)") }
        return try take(Int(length))
    }

    private mutating func take(_ count: Int) throws(AvroDecodeError) -> UnsafeRawBufferPointer {
        guard count <= bytes.count - index else { throw fail("payload ends early (\(count) bytes wanted, \(bytes.count - index) left)") }
        defer { index += count }
        return UnsafeRawBufferPointer(rebasing: bytes[index..<index + count])
    }
}

private extension UInt64 {
    var low32: UInt32 { UInt32(truncatingIfNeeded: self) }
}
