/// JSON that does not parse: what was wrong and at which byte.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was expected or found.
    public var reason: String
    /// The byte offset where parsing stopped.
    public var offset: Int

    /// An error for `reason` at byte `offset`.
    package init(reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    /// A sentence for error messages.
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
