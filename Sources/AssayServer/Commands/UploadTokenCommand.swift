import Vapor

/// `assay-server upload-token --tenant ID [--hours 1]`: an operator's upload-only token (first run,
/// imports). Printed once on standard output, stored only as a hash, audited.
struct UploadTokenCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "tenant", help: "The tenant's GUID.")
        var tenant: String?
        @Option(name: "hours", help: "Lifetime in hours, 1 to 12 (default 1).")
        var hours: Int?
        init() {}
    }

    var help: String { "Print an upload-only token for a tenant (it opens POST /api/v1/uploads and nothing else)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let raw = signature.tenant, let id = TenantID(raw) else { throw CommandFailure("give --tenant with the tenant's GUID") }
        let hours = signature.hours ?? 1
        guard (1...12).contains(hours) else { throw CommandFailure("--hours must be 1 to 12") }
        let app = context.application
        try await app.migrateCatalog()
        guard try await app.catalog.tenants.find(id) != nil else { throw CommandFailure("no tenant \(id)") }
        let token = try await ConsoleCredentials(catalog: app.catalog, now: app.clock).issueOperatorUploadToken(tenantID: id, hours: hours)
        context.console.output(ConsoleText(stringLiteral: token))
    }
}
