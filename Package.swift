// swift-tools-version:6.1
import PackageDescription

import class Foundation.ProcessInfo

/// Settings every target of ours shares: Swift 6 language mode is the package default;
/// `ExistentialAny` makes every existential visible at the use site.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // A file uses only the members of modules it imports itself: the architecture test reads
    // imports, and without this a member could come in through another file's import.
    .enableUpcomingFeature("MemberImportVisibility"),
]

var targets: [Target] = [
    // MARK: shared libraries

    /// zlib (RFC 1950/1951) from the system, so that OpenPGP can bound inflation precisely
    /// without pulling NIO into the bot.
    .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),

    /// OpenPGP v4 (RFC 4880 / RFC 9580): keys, armor, encrypt, decrypt. Packet format only:
    /// every primitive comes from swift-crypto.
    .target(
        name: "OpenPGP",
        dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            "CZlib",
        ],
        swiftSettings: strictSettings
    ),

    /// A strict, fast JSON reader (RFC 8259) for untrusted documents, with a `Decoder` on top:
    /// Foundation's reader is ten times slower on Linux and accepts duplicate keys.
    .target(name: "StrictJSON", swiftSettings: strictSettings),

    /// The records that travel from the bot to the service, and the published list of data points.
    .target(name: "AssayModel", swiftSettings: strictSettings),

    /// Two system calls Swift cannot make directly (ioprio_set, posix_spawn with a pipe).
    .target(name: "CAssaySystem"),

    /// Linux collection: /proc, /sys, package databases, sockets; the sampler.
    .target(
        name: "Probes",
        dependencies: ["AssayModel", "CAssaySystem", .product(name: "Crypto", package: "swift-crypto")],
        swiftSettings: strictSettings
    ),

    /// `assay-bot …` subcommands.
    .target(
        name: "BotCommands",
        dependencies: [
            "AssayModel", "Probes", "OpenPGP", "CAssaySystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        swiftSettings: strictSettings
    ),

    /// An SMTP submission client (RFC 5321) with STARTTLS (RFC 3207) and AUTH PLAIN (RFC 4954) on
    /// SwiftNIO: no Swift package on the mirror sends mail.
    .target(
        name: "SMTP",
        dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ],
        swiftSettings: strictSettings
    ),

    /// An LDAP v3 client (RFC 4511) on SwiftNIO and swift-asn1: bind, search with RFC 4515 filters,
    /// paged results (RFC 2696), LDAPS and StartTLS (RFC 4513). No Swift LDAP library exists.
    .target(
        name: "LDAP",
        dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ],
        swiftSettings: strictSettings
    ),

    /// The console's device lists (CON-1): a CSV file read with CSV.swift, validated whole, or the
    /// computers of an Active Directory found over LDAP.
    .target(
        name: "Directory",
        dependencies: ["LDAP", .product(name: "CSV", package: "CSV.swift")],
        swiftSettings: strictSettings
    ),

    /// The console (`assay`): state directory, tenant bundle, sign-in and tokens, remote runs over
    /// OpenSSH, the spool of fetched files and the uploader.
    .target(
        name: "Console",
        dependencies: [
            "Directory", "OpenPGP", "CZlib",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Crypto", package: "swift-crypto"),
        ],
        swiftSettings: strictSettings
    ),

    /// `assay …` subcommands.
    .target(
        name: "ConsoleCommands",
        dependencies: ["Console", "Directory", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        swiftSettings: strictSettings
    ),

    /// `assay-server key …`: what the service does with keys, by hand.
    .target(
        name: "OpenPGPCommands",
        dependencies: [
            "OpenPGP",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        swiftSettings: strictSettings
    ),

    /// The service: Vapor app in three tiers (Web/, Domain/, Storage/), its commands and data files.
    .target(
        name: "AssayServer",
        dependencies: [
            "OpenPGP", "AssayModel", "StrictJSON",
            .product(name: "Vapor", package: "vapor"),
            .product(name: "Fluent", package: "fluent"),
            .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
            .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
            .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "Leaf", package: "leaf"),
            .product(name: "LeafKit", package: "leaf-kit"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            "SMTP", "CZlib",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ],
        resources: [.copy("Resources")],
        swiftSettings: strictSettings
    ),

    // MARK: executables (thin)

    .executableTarget(
        name: "assay-server",
        dependencies: ["AssayServer", "OpenPGPCommands"],
        swiftSettings: strictSettings
    ),
    .executableTarget(name: "assay-bot", dependencies: ["BotCommands"], swiftSettings: strictSettings),
    .executableTarget(name: "assay", dependencies: ["ConsoleCommands"], swiftSettings: strictSettings),
    .executableTarget(
        name: "openpgp-bench",
        dependencies: ["OpenPGP"],
        path: "bench/Sources/openpgp-bench",
        swiftSettings: strictSettings
    ),

    .executableTarget(
        name: "ingest-bench",
        dependencies: [
            "AssayServer", "AssayModel", "OpenPGP", .product(name: "Vapor", package: "vapor"),
            .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"), .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
        ],
        path: "bench/Sources/ingest-bench",
        swiftSettings: strictSettings
    ),

    .executableTarget(
        name: "audit-bench",
        dependencies: ["AssayServer", .product(name: "Vapor", package: "vapor")],
        path: "bench/Sources/audit-bench",
        swiftSettings: strictSettings
    ),

    .executableTarget(
        name: "bot-bench",
        dependencies: ["Probes", "AssayModel", "OpenPGP"],
        path: "bench/Sources/bot-bench",
        swiftSettings: strictSettings
    ),

    // MARK: tests

    .testTarget(
        name: "ProbesTests",
        dependencies: ["Probes", "AssayModel", "OpenPGP"],
        resources: [.copy("Fixtures")],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "AssayServerTests",
        dependencies: ["AssayServer", "SMTP", "StrictJSON", .product(name: "VaporTesting", package: "vapor")],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "StrictJSONTests",
        dependencies: ["StrictJSON", "AssayModel"],
        resources: [.copy("Fixtures")],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "DirectoryTests",
        dependencies: [
            "Directory", "LDAP", .product(name: "SwiftASN1", package: "swift-asn1"), .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "ConsoleTests",
        dependencies: ["Console", "Directory", "OpenPGP"],
        swiftSettings: strictSettings
    ),
    .testTarget(
        name: "OpenPGPTests",
        dependencies: ["OpenPGP"],
        resources: [.copy("Fixtures")],
        swiftSettings: strictSettings
    ),
]

// The libFuzzer target links libFuzzer's own main, so it exists only for `scripts/fuzz-openpgp.sh`.
if ProcessInfo.processInfo.environment["ASSAY_FUZZ"] == "1" {
    targets.append(
        .executableTarget(
            name: "openpgp-fuzz",
            dependencies: ["OpenPGP"],
            path: "Fuzz/openpgp-fuzz",
            swiftSettings: strictSettings + [.unsafeFlags(["-parse-as-library"])]
        ))
}

let package = Package(
    name: "assay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "assay-server", targets: ["assay-server"]),
        .executable(name: "assay-bot", targets: ["assay-bot"]),
        .executable(name: "assay", targets: ["assay"]),
        .library(name: "OpenPGP", targets: ["OpenPGP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/leaf.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/leaf-kit.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
