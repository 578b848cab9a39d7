/// Names and text spelled into SQL where a parameter cannot go (identifiers, `ATTACH` paths).
enum SQLText {
    /// `name` as an SQL identifier: in double quotes, inner quotes doubled.
    static func identifier(_ name: String) -> String { "\"" + name.replacing("\"", with: "\"\"") + "\"" }

    /// `text` as an SQL string literal: in single quotes, inner quotes doubled.
    static func literal(_ text: String) -> String { "'" + text.replacing("'", with: "''") + "'" }
}
