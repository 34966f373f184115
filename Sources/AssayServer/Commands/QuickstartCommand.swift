import Vapor

/// `assay-server quickstart`: everything a first-time user needs on the embedded defaults.
struct QuickstartCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "admin-email", help: "Work e-mail of the first administrator (default owner@assay.localhost).")
        var adminEmail: String?
        @Option(name: "sample-seconds", help: "How long the first run samples consumption and connections (default 20; 0: inventory only).")
        var sampleSeconds: Int?
        @Flag(name: "no-scan", help: "Do not scan this machine with the bot.")
        var noScan: Bool
        init() {}
    }

    var help: String {
        "Set up the embedded defaults: catalog, a first tenant, its administrator's invitation, and a first scan of this machine through the real upload API."
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let configuration = app.assayConfiguration
        try await app.migrateCatalog()
        if let existing = try await app.catalog.tenants.first() {
            context.console.print("Assay is already set up: tenant \(existing.name).")
            context.console.print("tenant-id: \(existing.id.lowercased)")
            context.console.print("Portal: \(configuration.publicURL)   start it with: assay-server serve")
            return
        }
        let email = signature.adminEmail ?? "owner@assay.localhost"
        let service = TenantService(
            catalog: app.catalog, configuration: configuration, mailer: app.mailer, emailPolicy: try EmailPolicy.bundled(),
            keyring: try app.keyring())
        let created: TenantService.Created
        do {
            created = try await service.create(name: "Quickstart", region: configuration.regions[0].id, adminEmail: email)
        } catch let failure as TenantService.Failure {
            throw CommandFailure(failure.description)
        }
        context.console.print("Tenant Quickstart created.")
        context.console.print("tenant-id: \(created.tenantID.lowercased)")
        context.console.print("Portal:      \(configuration.publicURL)   (start it with: assay-server serve)")
        context.console.print("Invitation:  written to \(configuration.dataDirectory)/outbox as an .eml file for \(email);")
        context.console.print("             its link (valid 48 hours) registers the first administrator.")
        guard !signature.noScan else { return }
        let sampleSeconds = signature.sampleSeconds ?? 20
        guard (0...3600).contains(sampleSeconds) else { throw CommandFailure("--sample-seconds must be 0 to 3600") }
        try await FirstRun(app: app, tenantID: created.tenantID, sampleSeconds: sampleSeconds, console: context.console).run()
    }
}
