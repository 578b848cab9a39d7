// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Spool",
    products: [
        .library(name: "SpoolModel", targets: ["SpoolModel"]),
        .library(name: "KafkaReplay", targets: ["KafkaReplay"]),
        .library(name: "SpoolStore", targets: ["SpoolStore"]),
        .library(name: "SpoolDecode", targets: ["SpoolDecode"]),
        .library(name: "SpoolIngest", targets: ["SpoolIngest"]),
        .library(name: "SpoolReplay", targets: ["SpoolReplay"]),
        .library(name: "SpoolRestore", targets: ["SpoolRestore"]),
        .executable(name: "spool", targets: ["spool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The shared vocabulary: no C, no Kafka, no SQLite.
        .target(name: "SpoolModel"),
        // Empty unless built with --sanitize=thread (make tsan): then it routes librdkafka's C11
        // thread, mutex and condition-variable calls through ThreadSanitizer's pthread interceptors.
        .target(name: "CTSanSupport"),
        .target(
            name: "KafkaReplay",
            dependencies: [
                "CRdKafka",
                "CTSanSupport",
                "SpoolModel",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "EmbedMigrations",
            path: "Sources/EmbedMigrations"
        ),
        .plugin(
            name: "EmbedMigrationsPlugin",
            capability: .buildTool(),
            dependencies: ["EmbedMigrations"]
        ),
        // The Protobuf runtime (Debian's libprotobuf-dev, with libprotoc-dev for the .proto
        // parser's headers) behind a C API: only SpoolDecode uses it, through owning classes.
        .target(
            name: "CProtobufShim",
            linkerSettings: [.linkedLibrary("protobuf")]
        ),
        // Schema Registry decoding (Avro, JSON Schema, Protobuf): no Kafka, no SQLite.
        .target(name: "SpoolDecode", dependencies: ["SpoolModel", "CProtobufShim"]),
        .target(
            name: "SpoolStore",
            dependencies: ["CSQLite", "SpoolModel"],
            plugins: ["EmbedMigrationsPlugin"]
        ),
        .systemLibrary(name: "CMalloc"),
        .target(
            name: "SpoolIngest",
            dependencies: [
                "CMalloc",
                "SpoolModel",
                "SpoolDecode",
                "KafkaReplay",
                "SpoolStore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A capture as a replay source: joins KafkaReplay (through its ReplayHistory seam) and
        // SpoolStore, so neither has to know the other.
        .target(
            name: "SpoolReplay",
            dependencies: [
                "SpoolModel", "KafkaReplay", "SpoolStore", "SpoolDecode",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A capture restored into Kafka exactly once (spool restore): joins SpoolReplay's capture
        // reader with KafkaReplay's transactional producer.
        .target(
            name: "SpoolRestore",
            dependencies: [
                "SpoolModel", "KafkaReplay", "SpoolStore", "SpoolReplay",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "SpoolSampleData", dependencies: ["SpoolModel", "KafkaReplay"]),
        .target(
            name: "SpoolCLI",
            dependencies: ["SpoolModel", "KafkaReplay", "SpoolStore", "SpoolIngest", "SpoolDecode", "SpoolRestore"]
        ),
        .executableTarget(
            name: "spool",
            dependencies: [
                "SpoolModel", "KafkaReplay", "SpoolStore", "SpoolIngest", "SpoolCLI", "SpoolDecode", "SpoolReplay", "SpoolRestore",
                "SpoolSampleData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "SpoolBench",
            dependencies: [
                "SpoolModel", "KafkaReplay", "SpoolStore", "SpoolCLI", "SpoolReplay", "SpoolSampleData",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SpoolTestSupport",
            dependencies: ["SpoolModel", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SpoolTestSupport"
        ),
        .target(
            name: "SpoolScenarioSupport",
            dependencies: ["SpoolTestSupport", "SpoolStore", "KafkaReplay"],
            path: "Tests/SpoolScenarioSupport"
        ),
        .testTarget(
            name: "SpoolCLITests",
            dependencies: ["SpoolCLI", "SpoolIngest", "SpoolStore", "KafkaReplay", "SpoolSampleData", "SpoolTestSupport", "SpoolScenarioSupport"]
        ),
        .testTarget(
            name: "SpoolIngestTests",
            dependencies: ["SpoolIngest", "SpoolStore", "KafkaReplay", "SpoolTestSupport", "SpoolScenarioSupport"]
        ),
        .testTarget(
            name: "SpoolStoreTests",
            dependencies: ["SpoolStore", "SpoolModel", "SpoolTestSupport"]
        ),
        .testTarget(
            name: "SpoolDecodeTests",
            dependencies: ["SpoolDecode", "SpoolModel", "SpoolTestSupport"]
        ),
        .testTarget(
            name: "SpoolReplayTests",
            dependencies: ["SpoolReplay", "SpoolIngest", "SpoolStore", "KafkaReplay", "SpoolTestSupport", "SpoolScenarioSupport"]
        ),
        .testTarget(
            name: "SpoolRestoreTests",
            dependencies: ["SpoolRestore", "SpoolStore", "KafkaReplay", "SpoolCLI"]
        ),
        .testTarget(
            name: "KafkaReplayTests",
            dependencies: ["KafkaReplay", "SpoolTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
