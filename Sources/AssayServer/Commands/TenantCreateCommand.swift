import Vapor

/// `assay-server tenant create --name … --region … --admin-email …`
struct TenantCommands: AsyncCommandGroup {
    var commands: [String: any AnyAsyncCommand] = ["create": TenantCreateCommand()]
    var help: String { "Manage tenants." }
}

struct TenantCreateCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "name", help: "The organisation's name.")
        var name: String?
        @Option(name: "region", help: "A configured region id (ASSAY_REGIONS).")
        var region: String?
        @Option(name: "admin-email", help: "Work e-mail of the first administrator, who receives the invitation.")
        var adminEmail: String?
        init() {}
    }

    var help: String { "Create a tenant with a GUID in a region and invite its first administrator." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let name = signature.name, let adminEmail = signature.adminEmail else {
            throw CommandFailure("tenant create needs --name and --admin-email")
        }
        let app = context.application
        let configuration = app.assayConfiguration
        let region = signature.region ?? configuration.regions[0].id
        try await app.migrateCatalog()
        let service = TenantService(
            catalog: app.catalog, configuration: configuration, mailer: app.mailer, emailPolicy: try EmailPolicy.bundled(),
            keyring: try app.keyring())
        do {
            let created = try await service.create(name: name, region: region, adminEmail: adminEmail)
            context.console.print("tenant \(created.tenantID.lowercased) created in \(region)")
            context.console.print("invitation sent to \(adminEmail.lowercased()) (valid 48 hours)")
        } catch let failure as TenantService.Failure {
            throw CommandFailure(failure.description)
        }
    }
}
