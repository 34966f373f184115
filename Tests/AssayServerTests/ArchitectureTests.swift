import Foundation
import Testing

/// SEC-7 in the code's shape: each tier of `Sources/AssayServer` imports only what its rule allows
/// (docs/ARCHITECTURE.md). A file that breaks the rule fails here with its name and the import.
@Suite("Architecture: three tiers, one rule each")
struct ArchitectureTests {
    static let server = repositoryRoot.appendingPathComponent("Sources/AssayServer")

    /// What each folder may not import, and why.
    static let rules: [(folder: String, forbidden: Set<String>, why: String)] = [
        (
            "Domain", ["Vapor", "Fluent", "FluentKit", "SQLKit", "FluentSQLiteDriver", "FluentPostgresDriver", "Leaf", "LeafKit"],
            "Domain decides in plain Swift: no HTTP, no SQL"
        ),
        (
            "Web", ["Fluent", "FluentKit", "SQLKit", "FluentSQLiteDriver", "FluentPostgresDriver"],
            "Web speaks HTTP only: it calls Domain services, never the database"
        ),
        (
            "Commands", ["Fluent", "FluentKit", "SQLKit", "FluentSQLiteDriver", "FluentPostgresDriver"],
            "commands are controllers of the command line: no SQL either"
        ),
        (
            "Storage", ["Vapor", "Fluent", "Leaf", "LeafKit"],
            "Storage speaks SQL (FluentKit, SQLKit, the drivers) and knows nothing of HTTP"
        ),
    ]

    /// The composition root may name everything: it wires the tiers together.
    static let exempt = ["App"]

    static func swiftFiles(in folder: String) throws -> [URL] {
        let root = server.appendingPathComponent(folder)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        return walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
    }

    static func imports(of file: URL) throws -> [String] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                words[..<index].allSatisfy({ $0.hasPrefix("@") })
            else { return nil }
            return String(words[index + 1])
        }
    }

    @Test("each tier imports only what its rule allows", arguments: rules.map(\.folder))
    func tierImports(folder: String) throws {
        let rule = try #require(Self.rules.first { $0.folder == folder })
        let files = try Self.swiftFiles(in: folder)
        #expect(!files.isEmpty, "no Swift files under \(folder): the test would prove nothing")
        for file in files {
            for module in try Self.imports(of: file) where rule.forbidden.contains(module) {
                Issue.record("\(folder)/\(file.lastPathComponent) imports \(module): \(rule.why)")
            }
        }
    }

    /// Swift lets a file call what another file of the module imported, so the imports alone do not
    /// prove it: Web, Commands and Domain must not even name a database handle or a query.
    @Test("no database handle or query outside Storage and the composition root", arguments: ["Domain", "Web", "Commands"])
    func noQueries(folder: String) throws {
        let patterns = ["request.db", "app.db", "application.db", ".query(on:", ".raw(", "SQLDatabase", "as? any Database", "any Database"]
        for file in try Self.swiftFiles(in: folder) {
            let text = try String(contentsOf: file, encoding: .utf8)
            for pattern in patterns where text.contains(pattern) {
                Issue.record("\(folder)/\(file.lastPathComponent) contains \(pattern): queries belong in Storage")
            }
        }
    }

    @Test("every folder of the service is under a rule or named as the composition root")
    func everyFolderHasARule() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.server.path).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: Self.server.appendingPathComponent(name).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        let covered = Set(Self.rules.map(\.folder) + Self.exempt + ["Resources", "Configuration", "Mail"])
        for folder in folders where !covered.contains(folder) {
            Issue.record("Sources/AssayServer/\(folder) has no import rule in ArchitectureTests")
        }
    }

    @Test("the import reader sees what a file imports (the rule test would otherwise pass on nothing)")
    func readerSeesImports() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).swift")
        try "@testable import Vapor\nimport Fluent\n// import SQLKit\nlet x = 1\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try Self.imports(of: file) == ["Vapor", "Fluent"])
    }
}
