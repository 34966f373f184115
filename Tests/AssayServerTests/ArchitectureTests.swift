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

    static func imports(of file: URL) throws -> [String] { imports(inText: try String(contentsOf: file, encoding: .utf8)) }

    /// Every module a file imports, in any of Swift's forms: attributes (`@testable`,
    /// `@preconcurrency`), access levels (`public import`, `package import`, …), a declaration kind
    /// (`import struct Vapor.Request`) and submodules (`import Foundation.NSData` is Foundation).
    static func imports(inText text: String) -> [String] {
        let modifiers: Set<Substring> = ["public", "internal", "package", "private", "fileprivate", "open"]
        let kinds: Set<Substring> = ["struct", "class", "enum", "protocol", "typealias", "func", "var", "let", "actor"]
        return text.split(separator: "\n").compactMap { line in
            var words = line.split(whereSeparator: \.isWhitespace)[...]
            while let first = words.first, first.hasPrefix("@") || modifiers.contains(first) { words = words.dropFirst() }
            guard words.first == "import" else { return nil }
            words = words.dropFirst()
            if let first = words.first, kinds.contains(first) { words = words.dropFirst() }
            guard let path = words.first else { return nil }
            return String(path.split(separator: ".").first ?? path)
        }
    }

    /// Lines of code (comments left out) that contain `pattern`.
    static func codeLines(_ text: String, containing pattern: String) -> [Substring] {
        text.split(separator: "\n").filter { line in
            let trimmed = line.drop { $0 == " " }
            return !trimmed.hasPrefix("//") && line.contains(pattern)
        }
    }

    static let queryPatterns = [
        "request.db", "app.db", "application.db", ".query(on:", ".raw(", "SQLDatabase", "as? any Database", "any Database", ".sql()", "catalog.database",
    ]

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
        for file in try Self.swiftFiles(in: folder) {
            let text = try String(contentsOf: file, encoding: .utf8)
            for pattern in Self.queryPatterns where !Self.codeLines(text, containing: pattern).isEmpty {
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

    /// One clock for Domain and Web: time comes from the `now` they were given, so tests can move
    /// it (the lockout's 30 minutes, a grant's 90 days, the audit's timestamps).
    @Test("no Date() in Domain or Web: time comes from the injected clock", arguments: ["Domain", "Web"])
    func oneClock(folder: String) throws {
        for file in try Self.swiftFiles(in: folder) {
            for line in Self.codeLines(try String(contentsOf: file, encoding: .utf8), containing: "Date()") {
                Issue.record("\(folder)/\(file.lastPathComponent) reads the wall clock: \(line.trimmingCharacters(in: .whitespaces).prefix(120))")
            }
        }
    }

    /// What makes a tenant scope, and the scope itself, is made in one file each (issue 17, 15).
    static let scopeMakers: [(pattern: String, files: Set<String>)] = [
        ("LiveSession(", ["SessionLifecycle.swift"]),
        ("AuthenticatedUploadToken(", ["ConsoleCredentials.swift"]),
        ("ClaimedUpload(", ["UploadQueue.swift"]),
        ("TenantScope(", ["TenantScope.swift", "SessionLifecycle.swift", "ConsoleCredentials.swift", "IngestWorker.swift"]),
    ]

    static func scopeViolations(in text: String, file: String) -> [String] {
        scopeMakers.flatMap { maker in
            maker.files.contains(file) ? [] : codeLines(text, containing: maker.pattern).map { _ in "\(file) makes \(maker.pattern)…)" }
        }
    }

    @Test("a tenant scope is made only by a live session, an authenticated upload token or a claimed upload")
    func scopesAreMadeInOnePlace() throws {
        let files = try ["Domain", "Web", "Commands", "Storage", "App", "Mail", "Configuration"].flatMap { try Self.swiftFiles(in: $0) }
        #expect(files.count > 50)
        for file in files {
            for violation in Self.scopeViolations(in: try String(contentsOf: file, encoding: .utf8), file: file.lastPathComponent) {
                Issue.record("\(violation): a tenant's data is reached only through what authentication or the queue made")
            }
        }
    }

    @Test("the guard sees every form of a violation (each of these would otherwise pass unnoticed)")
    func guardSeesViolations() throws {
        let probe = """
            @testable import Vapor
            public import SQLKit
            package import FluentKit
            internal import Leaf
            @preconcurrency private import FluentSQLiteDriver
            import struct Fluent.Model
            import class LeafKit.LeafRenderer
            // import Nothing
            let x = 1
            """
        #expect(Self.imports(inText: probe) == ["Vapor", "SQLKit", "FluentKit", "Leaf", "FluentSQLiteDriver", "Fluent", "LeafKit"])
        #expect(!Self.codeLines("try await catalog.database.sql().raw(\"x\")", containing: ".sql()").isEmpty)
        #expect(!Self.codeLines("let d = catalog.database", containing: "catalog.database").isEmpty)
        #expect(!Self.codeLines("        let time = Date()", containing: "Date()").isEmpty)
        #expect(Self.codeLines("    /// Date() in a comment", containing: "Date()").isEmpty)
        #expect(Self.scopeViolations(in: "let s = LiveSession(sessionID: id)", file: "Anywhere.swift").count == 1)
        #expect(Self.scopeViolations(in: "let s = TenantScope(claimedUpload: c)", file: "PortalPages.swift").count == 1)
        #expect(Self.scopeViolations(in: "let s = TenantScope(claimedUpload: c)", file: "IngestWorker.swift").isEmpty)
    }
}
