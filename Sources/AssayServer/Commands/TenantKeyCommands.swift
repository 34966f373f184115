import Vapor

/// `assay-server key unlock|rotate|rotate-kek|public` (KEY-3, KEY-4): operator actions on the tenant
/// keys in the catalog. `key generate|export|inspect|encrypt|decrypt` (keys in files, by hand) are
/// the same tree's other half, in OpenPGPCommands; `main.swift` sends each subcommand to its half.
struct TenantKeyCommands: AsyncCommandGroup {
    static let subcommands: Set<String> = ["unlock", "rotate", "rotate-kek", "public"]

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

    func tenantID() throws -> TenantID {
        guard let raw = tenant, let id = TenantID(raw) else { throw CommandFailure("give --tenant with the tenant's GUID") }
        return id
    }

    /// The named tenant, after migrating the catalog; a clear failure when there is none.
    func tenant(in app: Application) async throws -> TenantRecord {
        let id = try tenantID()
        try await app.migrateCatalog()
        guard let tenant = try await app.catalog.tenants.find(id) else { throw CommandFailure("no tenant \(id)") }
        return tenant
    }
}

struct KeyUnlockCommand: AsyncCommand {
    var help: String { "End a tenant's key lock (after the cause has been understood); ingestion resumes." }

    func run(using context: CommandContext, signature: TenantOption) async throws {
        guard let reason = signature.reason, reason.count >= 10 else {
            throw CommandFailure("give --reason: what was checked before unlocking (10 characters at least)")
        }
        let app = context.application
        let id = try await signature.tenant(in: app).id
        try await app.keyring().unlock(tenantID: id, reason: reason, actor: "operator")
        context.console.print("tenant \(id.lowercased): key unlocked; ingestion resumes")
    }
}

struct KeyRotateCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "tenant", help: "The tenant's GUID.")
        var tenant: String?
        @Flag(name: "named", help: "Every tenant whose key's User ID names more than its GUID (keys made before issue 17).")
        var named: Bool
        init() {}
    }

    var help: String {
        "Make a new key pair the tenant's published key (--tenant GUID, or --named for every key whose User ID names the customer); old secret keys still decrypt what was sent to them."
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        if signature.named {
            guard signature.tenant == nil else { throw CommandFailure("give --tenant or --named, not both") }
            try await app.migrateCatalog()
            let rotated = try await app.keyring().rotateKeysNamingMoreThanTheGUID(actor: "operator")
            for id in rotated { context.console.print("tenant \(id.lowercased): new key with the GUID-only User ID published") }
            context.console.print(
                "\(rotated.count) key(s) rotated; writers download the console bundle again (assay init --replace shows the new fingerprint)")
            return
        }
        guard let raw = signature.tenant, let id = TenantID(raw) else { throw CommandFailure("give --tenant with the tenant's GUID, or --named") }
        try await app.migrateCatalog()
        guard try await app.catalog.tenants.find(id) != nil else { throw CommandFailure("no tenant \(id)") }
        let key = try await app.keyring().createKey(tenantID: id, actor: "operator")
        context.console.print("tenant \(id.lowercased): new key \(key.fingerprint) (\(key.bits) bits) published")
    }
}

struct KeyPublicCommand: AsyncCommand {
    var help: String { "Print a tenant's published public key (armored)." }

    func run(using context: CommandContext, signature: TenantOption) async throws {
        let app = context.application
        let id = try await signature.tenant(in: app).id
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
