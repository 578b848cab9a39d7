/// Text made safe to show on a terminal: the characters a terminal would obey instead of show
/// are written as visible escapes.
///
/// Data that reaches a terminal (keys, values, headers, topic names, file names, messages from
/// SQLite or a broker) can hold ESC sequences that move the cursor, recolour or clear the screen,
/// a CR that lets the rest of a line overwrite its start, BEL, NUL, DEL, C1 controls (U+0080 to
/// U+009F; U+009B is a one-character ESC [ on some terminals) and the Unicode bidi overrides and
/// isolates (U+202A to U+202E, U+2066 to U+2069) that make a line read in a different order than
/// it is stored. Every human-facing output of `spool` passes such text through `safe`; the
/// machine formats keep the data (CSV as it is, JSON with `JSONText.string`'s escapes).
///
/// The notation is Swift's string-literal escapes: `\n`, `\r`, `\t` and `\0`, and `\u{HEX}`
/// (lowercase hex) for every other escaped character: `\u{1b}` for ESC, `\u{7}` for BEL,
/// `\u{7f}` for DEL, `\u{9b}`, `\u{202e}`. A backslash in the data is shown as it is: this is a
/// display, not an encoding to decode (use `--format csv|json|jsonl` for the exact bytes).
public enum TerminalText {
    /// `text` with every character a terminal would act on written as its escape; with
    /// `keepingLineBreaks`, line feeds stay (for whole messages whose lines are layout).
    ///
    /// Every escape is printable ASCII, so a column's width counts the escaped text, and applying
    /// `safe` twice changes nothing more.
    public static func safe(_ text: String, keepingLineBreaks: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { needsEscape($0) && !(keepingLineBreaks && $0 == "\n") }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if !needsEscape(scalar) || (keepingLineBreaks && scalar == "\n") {
                out.append(scalar)
            } else {
                out.append(contentsOf: escape(scalar).unicodeScalars)
            }
        }
        return String(out)
    }

    /// Whether `safe` escapes `scalar`: C0 controls, DEL, C1 controls, bidi overrides and isolates.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// The escape of one character `needsEscape` accepts.
    private static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\0": return "\\0"
        default: return "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }
}
