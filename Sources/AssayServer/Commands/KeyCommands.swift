import Fluent
import Vapor

/// `assay-server keys unlock|rotate|rotate-kek|public` (KEY-3, KEY-4): operator actions on tenant keys.
struct KeyCommands: AsyncCommandGroup {
    var commands: [String: any AnyAsyncCommand] = [
        "unlock": KeyUnlockCommand(), "rotate": KeyRotateCommand(), "rotate-kek": KEKRotateCommand(), "public": KeyPublicCommand(),
    ]
    var help: String { "Tenant keys: unlock after a key lock, rotate a tenant key, re-wrap under a new key-encryption key." }
}

struct TenantOption: CommandSignature {
    @Option(name: "tenant", help: "The tenant's GUID.")
    var tenant: String?
    @Option(name: "reason", help: "Why (recorded in the audit log).")
    var reason: String?
    init() {}

    func tenantID() throws -> UUID {
        guard let raw = tenant, let id = UUID(uuidString: raw) else { throw CommandFailure("give --tenant with the tenant's GUID") }
        return id
    }

    /// The named tenant, after migrating the catalog; a clear failure when there is none.
    func tenant(in app: Application) async throws -> Tenant {
        let id = try tenantID()
        try await app.migrateCatalog()
        guard let tenant = try await Tenant.find(id, on: app.db) else { throw CommandFailure("no tenant \(id)") }
        return tenant
    }
}

struct KeyUnlockCommand: AsyncCommand {
    var help: String { "End a tenant's key lock (after the cause has been understood); ingestion resumes." }

    func run(using context: CommandContext, signature: TenantOption) async throws {
        guard let reason = signature.reason, reason.count >= 10 else { throw CommandFailure("give --reason: what was checked before unlocking (10 characters at least)") }
        let app = context.application
        let id = try await signature.tenant(in: app).requireID()
        try await app.keyring().unlock(tenantID: id, reason: reason, actor: "operator")
        context.console.print("tenant \(id.uuidString.lowercased()): key unlocked; ingestion resumes")
    }
}

struct KeyRotateCommand: AsyncCommand {
    var help: String { "Make a new key pair the tenant's published key; old secret keys still decrypt what was sent to them." }

    func run(using context: CommandContext, signature: TenantOption) async throws {
        let app = context.application
        let tenant = try await signature.tenant(in: app)
        let id = try tenant.requireID()
        let key = try await app.keyring().createKey(tenantID: id, tenantName: tenant.name, actor: "operator")
        context.console.print("tenant \(id.uuidString.lowercased()): new key \(key.fingerprint) (\(key.bits) bits) published")
    }
}

struct KeyPublicCommand: AsyncCommand {
    var help: String { "Print a tenant's published public key (armored)." }

    func run(using context: CommandContext, signature: TenantOption) async throws {
        let app = context.application
        let id = try await signature.tenant(in: app).requireID()
        context.console.output(ConsoleText(stringLiteral: try await app.keyring().publicKey(tenantID: id).publicKey), newLine: false)
    }
}

struct KEKRotateCommand: AsyncCommand {
    struct Signature: CommandSignature { init() {} }
    var help: String { "Re-wrap every tenant secret key from ASSAY_KEK_PREVIOUS_FILE to the current key-encryption key." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        guard app.keyEncryptionKeys?.previous != nil else {
            throw CommandFailure("set ASSAY_KEK_PREVIOUS_FILE to the old key and ASSAY_KEK_FILE to the new one")
        }
        try await app.migrateCatalog()
        let count = try await app.keyring().rewrapAll(actor: "operator")
        context.console.print("re-wrapped \(count) tenant keys under \(app.keyEncryptionKeys!.current.id)")
    }
}

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
        guard let raw = signature.tenant, let id = UUID(uuidString: raw) else { throw CommandFailure("give --tenant with the tenant's GUID") }
        let hours = signature.hours ?? 1
        guard (1 ... 12).contains(hours) else { throw CommandFailure("--hours must be 1 to 12") }
        let app = context.application
        try await app.migrateCatalog()
        guard try await Tenant.find(id, on: app.db) != nil else { throw CommandFailure("no tenant \(id)") }
        let token = try await ConsoleCredentials(database: app.db, now: app.clock).issueOperatorUploadToken(tenantID: id, hours: hours)
        context.console.output(ConsoleText(stringLiteral: token))
    }
}
