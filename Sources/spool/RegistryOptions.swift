import ArgumentParser
import SpoolCLI
import SpoolDecode

/// The Schema Registry options shared by `ingest` and `decode`.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("schema-registry"),
            help: ArgumentHelp("Decode Confluent-framed Avro and JSON Schema keys and values with this registry (http or https).", valueName: "url"))
    var url: String?

    @Option(name: .customShort("S"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("A registry client setting, e.g. basic.auth.user.info=USER:PASSWORD or bearer.auth.token=TOKEN (repeatable).", valueName: "key=value"))
    var settings: [String] = []

    /// The registry configuration, nil when no URL was given.
    func config() throws -> SchemaRegistryConfig? {
        guard let url else {
            if !settings.isEmpty { throw ValidationError("-S is a Schema Registry setting; give --schema-registry URL too") }
            return nil
        }
        var pairs: [String: String] = [:]
        for setting in settings {
            guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
                throw ValidationError("-S \(setting.split(separator: "=").first ?? ""): expected key=value, for example -S basic.auth.user.info=USER:PASSWORD")
            }
            pairs[String(setting[..<equals])] = String(setting[setting.index(after: equals)...])
        }
        do {
            return try SchemaRegistryConfig(url: url, settings: pairs)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func validate() throws {
        _ = try config()
    }
}
