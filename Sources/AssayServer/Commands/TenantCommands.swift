import Fluent
import SQLKit
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
        try await app.autoMigrate()
        let service = TenantService(database: app.db, configuration: configuration, mailer: app.mailer, emailPolicy: try EmailPolicy.bundled(),
                                    keyring: try app.keyring())
        do {
            let created = try await service.create(name: name, region: region, adminEmail: adminEmail)
            context.console.print("tenant \(try created.tenant.requireID().uuidString.lowercased()) created in \(region)")
            context.console.print("invitation sent to \(adminEmail.lowercased()) (valid 48 hours)")
        } catch let failure as TenantService.Failure {
            throw CommandFailure(failure.description)
        }
    }
}

/// `assay-server quickstart`: everything a first-time user needs on the embedded defaults.
struct QuickstartCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "admin-email", help: "Work e-mail of the first administrator (default owner@assay.localhost).")
        var adminEmail: String?
        init() {}
    }

    var help: String { "Set up the embedded defaults: catalog, a first tenant and its administrator's invitation." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let configuration = app.assayConfiguration
        try await app.autoMigrate()
        if let existing = try await Tenant.query(on: app.db).first() {
            context.console.print("Assay is already set up: tenant \(existing.name).")
            context.console.print("tenant-id: \(try existing.requireID().uuidString.lowercased())")
            context.console.print("Portal: \(configuration.publicURL)   start it with: assay-server serve")
            return
        }
        let email = signature.adminEmail ?? "owner@assay.localhost"
        let service = TenantService(database: app.db, configuration: configuration, mailer: app.mailer, emailPolicy: try EmailPolicy.bundled(),
                                    keyring: try app.keyring())
        let created: TenantService.Created
        do {
            created = try await service.create(name: "Quickstart", region: configuration.regions[0].id, adminEmail: email)
        } catch let failure as TenantService.Failure {
            throw CommandFailure(failure.description)
        }
        context.console.print("Tenant Quickstart created.")
        context.console.print("tenant-id: \(try created.tenant.requireID().uuidString.lowercased())")
        context.console.print("Portal:      \(configuration.publicURL)   (start it with: assay-server serve)")
        context.console.print("Invitation:  written to \(configuration.dataDirectory)/outbox as an .eml file for \(email);")
        context.console.print("             its link (valid 48 hours) registers the first administrator.")
    }
}

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
        try await app.autoMigrate()
        let (count, chainBreak) = try await AuditLog(database: app.db).verify()
        if let chainBreak {
            throw CommandFailure("audit chain broken: \(chainBreak.description) (\(count) events read)")
        }
        context.console.print("audit chain whole: \(count) events")
    }
}

struct CommandFailure: Error, CustomStringConvertible, LocalizedError {
    let description: String
    init(_ description: String) { self.description = description }
    var errorDescription: String? { description }
}

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
        guard context.application.assayConfiguration.databaseURL != nil, let sql = context.application.db as? any SQLDatabase else {
            throw CommandFailure("grants is for a PostgreSQL catalog (DATABASE_URL); SQLite has no roles")
        }
        do { try await CatalogGrants.apply(role: role, on: sql) } catch let invalid as CatalogGrants.InvalidRole {
            throw CommandFailure(invalid.description)
        }
        context.console.print("granted \(role) read/write on the catalog's tables, insert-only on the audit log")
    }
}
