import Vapor

/// `assay-server audit verify`: proves the audit chain is whole (SEC-4).
struct AuditCommands: AsyncCommandGroup {
    var commands: [String: any AnyAsyncCommand] = ["verify": AuditVerifyCommand()]
    var help: String { "Audit log tools." }
}

struct AuditVerifyCommand: AsyncCommand {
    struct Signature: CommandSignature { init() {} }
    var help: String { "Check that no audit event was altered, removed or reordered." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.migrateCatalog()
        let (count, chainBreak) = try await app.catalog.audit.verify()
        if let chainBreak {
            throw CommandFailure("audit chain broken: \(chainBreak.description) (\(count) events read)")
        }
        context.console.print("audit chain whole: \(count) events")
    }
}
