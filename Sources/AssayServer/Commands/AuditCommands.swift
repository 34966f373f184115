import Foundation
import Vapor

/// `assay-server audit verify [--heads FILE]` and `audit heads` (SEC-4).
struct AuditCommands: AsyncCommandGroup {
    var commands: [String: any AnyAsyncCommand] = ["verify": AuditVerifyCommand(), "heads": AuditHeadsCommand()]
    var help: String { "Audit log tools: verify every chain, export the chain heads." }
}

struct AuditVerifyCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "heads", help: "A file written by `audit heads` earlier: every head in it must still be there, unchanged.")
        var heads: String?
        init() {}
    }
    var help: String { "Check that no audit event was altered, removed or reordered, chain by chain (and no tail cut, with --heads)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.migrateCatalog()
        let log = app.catalog.audit
        let reports = try await log.verifyChains()
        var broken: [String] = []
        for report in reports {
            if let chainBreak = report.chainBreak { broken.append("chain \(report.chain): \(chainBreak.description)") }
        }
        if let file = signature.heads {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CommandFailure("cannot read \(file)") }
            for line in text.split(whereSeparator: \.isNewline) where !line.isEmpty {
                guard let head = AuditChain.Head(line: String(line)) else { throw CommandFailure("\(file): not a head line: \(line.prefix(80))") }
                if try await !log.contains(head) {
                    broken.append("chain \(head.chain): event \(head.sequence) of the saved heads is gone or changed (its tail was cut or rewritten)")
                }
            }
        }
        let total = reports.map(\.count).reduce(0, +)
        guard broken.isEmpty else { throw CommandFailure("audit log broken: " + broken.joined(separator: "; ") + " (\(total) events read)") }
        context.console.print("audit chains whole: \(reports.count) chains, \(total) events")
    }
}

struct AuditHeadsCommand: AsyncCommand {
    struct Signature: CommandSignature { init() {} }
    var help: String { "Print the newest event of every audit chain (chain, sequence, hash): keep it elsewhere, and `audit verify --heads` it later." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.migrateCatalog()
        for head in try await app.catalog.audit.heads() { context.console.print(head.line) }
    }
}
