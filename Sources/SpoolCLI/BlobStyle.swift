import SpoolModel

/// How `spool query` renders BLOB values.
public enum BlobStyle: String, CaseIterable, Sendable {
    /// As UTF-8 text when the bytes are valid UTF-8, else as hex (`x'…'` in tables and CSV).
    case text
    /// Always as lowercase hex.
    case hex
    /// Always as base64.
    case base64

    /// Renders `bytes`; the second value tells whether the result is text (not an encoding).
    public func render(_ bytes: [UInt8]) -> (String, isText: Bool) {
        switch self {
        case .text:
            if let text = String(validating: bytes, as: UTF8.self) { return (text, true) }
            return (Self.hexString(bytes), false)
        case .hex:
            return (Self.hexString(bytes), false)
        case .base64:
            return (Self.base64String(bytes), false)
        }
    }

    /// Appends `bytes` to `out` as the JSON string `render` gives, quotes included, without
    /// building a `String` (for `spool replay`'s output).
    public func appendJSON(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        switch self {
        case .text where UTF8Validation.isValid(bytes):
            JSONText.appendString(bytes, to: &out)
        case .text, .hex:
            let digits = Self.hexDigits
            out.append(UInt8(ascii: "\""))
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
            out.append(UInt8(ascii: "\""))
        case .base64:
            out.append(UInt8(ascii: "\""))
            Base64.encode(bytes, into: &out)
            out.append(UInt8(ascii: "\""))
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes`.
    public static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Standard base64 (with padding) of `bytes`.
    public static func base64String(_ bytes: [UInt8]) -> String {
        Base64.encode(bytes)
    }
}
