import ArgumentParser
import SpoolCLI
import SpoolModel

/// The Kafka connection options shared by `ingest` and `status`.
struct KafkaOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Kafka bootstrap brokers.", valueName: "host:port[,...]"))
    var brokers: String?

    @Option(name: .customShort("X"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Any librdkafka property, as kcat takes it (repeatable).", valueName: "key=value"))
    var properties: [String] = []

    @Option(name: .long, help: ArgumentHelp("A file of librdkafka key=value lines ('#' starts a comment).", valueName: "file"))
    var configFile: String?

    /// The merged librdkafka configuration: file, then -X, then --brokers.
    func config() throws -> [String: String] {
        var config: [String: String] = [:]
        if let configFile {
            guard let text = TextFile.read(configFile) else {
                throw ValidationError("--config-file \(configFile): cannot read the file; check the path and permissions")
            }
            do {
                config.merge(try KafkaConfigFile.parse(text, source: "--config-file \(configFile)")) { $1 }
            } catch let error as KafkaConfigFile.ParseError {
                throw ValidationError(error.description)
            }
        }
        for property in properties {
            do {
                let (key, value) = try KafkaConfigFile.pair(property, place: "-X \(property.split(separator: "=").first ?? "")")
                config[key] = value
            } catch let error as KafkaConfigFile.ParseError {
                throw ValidationError(error.description)
            }
        }
        if let brokers { config["bootstrap.servers"] = brokers }
        return config
    }

    func validate() throws {
        for property in properties where !property.contains("=") {
            throw ValidationError("-X \(property): expected key=value, for example -X fetch.max.bytes=1048576")
        }
    }
}
