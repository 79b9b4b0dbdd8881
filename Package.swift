// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "safeguard",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "safeguard", targets: ["safeguard"]),
        .library(name: "SafeguardCore", targets: ["SafeguardCore"]),
        .library(name: "SafeguardStore", targets: ["SafeguardStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The log service (safeguard serve, witness serve): HTTP, logs, metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The analyst's report pages (report mase --format html).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // The service's PostgreSQL store, and verify / mirror / migrate from a PostgreSQL URL (docs/SCALE.md).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // libsodium, the only source of cryptography (Ed25519, SHA-256, Argon2id, XChaCha20-Poly1305).
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // The pure core: canonical JSON, the event envelope, hashing, signing, keys, chain verification.
        .target(name: "SafeguardCore", dependencies: ["CSodium"]),
        // The toolkit's event catalogue: typed facts, validation, levels, working-day deadlines.
        .target(name: "SafeguardCatalogue", dependencies: ["SafeguardCore"]),
        // The SQLite ledger file and key files: the I/O edge.
        .target(
            name: "SafeguardStore",
            dependencies: ["SafeguardCore", "SafeguardCatalogue", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "GRDBSQLite", package: "GRDB.swift")]
        ),
        // Read models rebuilt from the verified log.
        .target(
            name: "Projections",
            dependencies: [
                "SafeguardCore", "SafeguardCatalogue", "SafeguardStore", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"), .product(name: "Mustache", package: "swift-mustache"),
            ],
            path: "Projections"
        ),
        // The log service and its client: the HTTP API over the library (docs/SERVICE.md).
        .target(
            name: "SafeguardService",
            dependencies: [
                "SafeguardCore", "SafeguardCatalogue", "SafeguardStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The ledger in PostgreSQL: the same tables, triggers and privileges, checked exactly (docs/SCALE.md).
        .target(
            name: "SafeguardPostgres",
            dependencies: [
                "SafeguardCore", "SafeguardStore", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .executableTarget(
            name: "safeguard",
            dependencies: [
                "SafeguardCore", "SafeguardCatalogue", "SafeguardStore", "Projections", "SafeguardService", "SafeguardPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Benchmarks (tools/bench): not installed, never used for figures anyone reports from.
        .executableTarget(name: "safeguard-bench", dependencies: ["SafeguardCore", "SafeguardStore", "Projections", "SafeguardService",
                                                                 .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")]),
        // What the tamper tests of every target share: changing a ledger file as an insider would.
        .target(name: "TestSupport", dependencies: ["SafeguardCore", "SafeguardCatalogue", .product(name: "GRDB", package: "GRDB.swift")], path: "Tests/TestSupport"),
        .testTarget(name: "SafeguardCoreTests", dependencies: ["SafeguardCore", "TestSupport"], resources: [.copy("Vectors")]),
        .testTarget(name: "SafeguardCatalogueTests", dependencies: ["SafeguardCatalogue", "SafeguardCore"]),
        .testTarget(name: "ProjectionsTests", dependencies: ["Projections", "SafeguardStore", "SafeguardCatalogue", "SafeguardCore", "TestSupport",
                                                             .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SafeguardStoreTests", dependencies: ["SafeguardStore", "SafeguardCore", "SafeguardCatalogue", "TestSupport"]),
        .testTarget(name: "SafeguardCLITests", dependencies: ["SafeguardCore", "SafeguardCatalogue", "SafeguardStore", "TestSupport", "SafeguardService", "SafeguardPostgres",
                                                              .product(name: "GRDB", package: "GRDB.swift")]),
    ]
)
