/// Strict UTF-8 validation over raw bytes (no overlong forms, no surrogates, at most U+10FFFF).
package enum UTF8Validation {
    /// Whether `bytes` is well-formed UTF-8.
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let trailing: Int
            var scalar: UInt32
            let smallest: UInt32
            switch lead {
            case 0xC0...0xDF: (trailing, scalar, smallest) = (1, UInt32(lead & 0x1F), 0x80)
            case 0xE0...0xEF: (trailing, scalar, smallest) = (2, UInt32(lead & 0x0F), 0x800)
            case 0xF0...0xF7: (trailing, scalar, smallest) = (3, UInt32(lead & 0x07), 0x10000)
            default: return false
            }
            guard index + trailing < count else { return false }
            for offset in 1...trailing {
                let byte = bytes[index + offset]
                guard byte & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(byte & 0x3F)
            }
            guard scalar >= smallest, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return false }
            index += trailing + 1
        }
        return true
    }
}
