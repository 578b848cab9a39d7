import Logging
import SpoolCLI

/// swift-log's standard-error handler with each line's message and metadata shown as
/// `TerminalText.safe` writes them: log lines carry topic and file names and what brokers and
/// registries said, which must not drive the terminal.
struct TerminalLogHandler: LogHandler {
    private var inner: StreamLogHandler

    /// A handler writing to standard error under `label`.
    init(label: String) {
        inner = StreamLogHandler.standardError(label: label)
    }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var safe = event
        safe.message = "\(TerminalText.safe(event.message.description))"
        safe.metadata = event.metadata.map { Self.safe($0) }
        inner.log(event: safe)
    }

    /// `metadata` with every key and value shown safely.
    private static func safe(_ metadata: Logger.Metadata) -> Logger.Metadata {
        Dictionary(metadata.map { (TerminalText.safe($0.key), safe($0.value)) }, uniquingKeysWith: { first, _ in first })
    }

    private static func safe(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): return .string(TerminalText.safe(text))
        case .stringConvertible(let convertible): return .string(TerminalText.safe(convertible.description))
        case .dictionary(let dictionary): return .dictionary(safe(dictionary))
        case .array(let values): return .array(values.map { safe($0) })
        }
    }
}
