import Vapor

/// `assay-server migrate [--revert]`: the catalog's migrations, each in one transaction with its
/// ledger row. Replaces Fluent's command of the same name, whose steps are not atomic. A revert
/// asks first (ConsoleKit's global `--yes` answers for a script).
struct MigrateCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(name: "revert", help: "Revert the newest batch of migrations (drops what they created).")
        var revert: Bool
        init() {}
    }

    var help: String { "Bring the catalog's schema up to date (or revert the newest batch)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let migrator = context.application.catalogMigrator
        if signature.revert {
            let question = "Revert the newest batch of catalog migrations? This drops the tables they created, with their rows."
            guard context.console.confirm(question.consoleText(.warning)) else { throw CommandFailure("revert cancelled; nothing changed") }
            let reverted = try await migrator.revertLastBatch()
            context.console.print(reverted.isEmpty ? "nothing to revert" : "reverted: " + reverted.joined(separator: ", "))
        } else {
            let prepared = try await migrator.prepare()
            context.console.print(prepared.isEmpty ? "catalog up to date" : "prepared: " + prepared.joined(separator: ", "))
        }
    }
}
