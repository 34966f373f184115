import Vapor

/// `assay-server grants --role assay_app`: run as the catalog's owner after `migrate`, gives the
/// service's role exactly what it needs (PostgreSQL only; see docs/operations.md).
struct GrantsCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "role", help: "The PostgreSQL role the service connects as.")
        var role: String?
        init() {}
    }

    var help: String { "Grant the service's PostgreSQL role the least privilege it needs on the catalog." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let role = signature.role else { throw CommandFailure("grants needs --role") }
        guard context.application.assayConfiguration.databaseURL != nil else {
            throw CommandFailure("grants is for a PostgreSQL catalog (DATABASE_URL); SQLite has no roles")
        }
        do { try await CatalogGrants.apply(role: role, on: context.application.catalog) } catch let invalid as CatalogGrants.InvalidRole {
            throw CommandFailure(invalid.description)
        }
        context.console.print("granted \(role) read/write on the catalog's tables, insert-only on the audit log")
    }
}
