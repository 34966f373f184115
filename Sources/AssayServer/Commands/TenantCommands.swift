import AssayModel
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
        try await app.migrateCatalog()
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
        guard !signature.noScan else { return }
        let sampleSeconds = signature.sampleSeconds ?? 20
        guard (0 ... 3600).contains(sampleSeconds) else { throw CommandFailure("--sample-seconds must be 0 to 3600") }
        try await FirstRun(app: app, tenantID: try created.tenant.requireID(), sampleSeconds: sampleSeconds, console: context.console).run()
    }
}

/// The first run of `quickstart`: the bot scans this machine, encrypted to the new tenant's key;
/// the files go through the real upload API (a temporary listener on the configured port, an
/// operator upload token) and an ingest worker writes them to the tenant database, so that the
/// first sign-in shows this machine.
struct FirstRun {
    let app: Application
    let tenantID: UUID
    let sampleSeconds: Int
    let console: any Console

    func run() async throws {
        let configuration = app.assayConfiguration
        guard let bot = Self.botExecutable() else {
            console.print("First run skipped: no assay-bot beside assay-server (build it: swift build --product assay-bot, or set ASSAY_BOT).")
            return
        }
        let folder = URL(fileURLWithPath: configuration.dataDirectory).appendingPathComponent("first-run")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keyFile = folder.appendingPathComponent("tenant-public.asc")
        try Data(try await app.keyring().publicKey(tenantID: tenantID).publicKey.utf8).write(to: keyFile)
        console.print("Scanning this machine with \(bot.path) (the dry run is in \(folder.path)/this-machine-inventory.json)…")
        try Data(try Self.run(bot, ["inventory"])).write(to: folder.appendingPathComponent("this-machine-inventory.json"))
        _ = try Self.run(bot, ["inventory", "--recipient", keyFile.path, "--out", folder.appendingPathComponent("inventory.pgp").path])
        if sampleSeconds > 0 {
            console.print("Sampling consumption and connections for \(sampleSeconds) seconds…")
            let bucket = max(2, sampleSeconds / 2)
            _ = try Self.run(bot, ["sample", "--recipient", keyFile.path, "--out-dir", folder.path, "--interval", "\(max(1, bucket / 5))s",
                                   "--bucket", "\(bucket)s", "--duration", "\(sampleSeconds)s", "--file-every", "\(sampleSeconds)s",
                                   "--connections-every", "\(bucket)s"])
        }
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "pgp" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }

        // Through the real API: the service listens for the length of the uploads only.
        try await app.server.start(address: .hostname("127.0.0.1", port: configuration.port))
        var ids: [UUID] = []
        do {
            let token = try await ConsoleCredentials(database: app.db, now: app.clock).issueOperatorUploadToken(tenantID: tenantID, hours: 1)
            for file in files {
                let body = try Data(contentsOf: file)
                var headers = HTTPHeaders()
                headers.bearerAuthorization = BearerAuthorization(token: token)
                headers.add(name: UploadController.digestHeader, value: sha256Hex(body))
                headers.contentType = .init(type: "application", subType: "octet-stream")
                let response = try await app.client.post(URI(string: "http://127.0.0.1:\(configuration.port)/api/v1/uploads"), headers: headers) { request in
                    request.body = ByteBuffer(data: body)
                }
                guard response.status == .accepted || response.status == .ok, let accepted = try? response.content.decode(UploadController.Accepted.self) else {
                    throw CommandFailure("the upload of \(file.lastPathComponent) was refused (\(response.status.code))")
                }
                ids.append(accepted.id)
            }
        } catch {
            await app.server.shutdown()
            throw error
        }
        await app.server.shutdown()

        let worker = try app.ingestWorker(name: "quickstart-\(ProcessInfo.processInfo.processIdentifier)")
        for _ in 0 ..< 50 where try await worker.runOnce() > 0 {}
        for id in ids {
            guard let upload = try await Upload.find(id, on: app.db) else { continue }
            console.print("upload \(id.uuidString.lowercased()): \(upload.state.rawValue) \(upload.kind ?? "") \(upload.failure ?? "")")
        }
        if let inventory = try? JSONDecoder().decode(InventoryDocument.self, from: Data(contentsOf: folder.appendingPathComponent("this-machine-inventory.json"))) {
            console.print("This machine: \(inventory.header.device.hostname), \(inventory.system.os.prettyName ?? inventory.system.os.name ?? "?"), "
                          + "\(inventory.cpu.threads) CPU threads, \(inventory.memory.totalBytes >> 20) MiB memory, \(inventory.software.count) packages.")
        }
    }

    /// ASSAY_BOT, or `assay-bot` beside this executable.
    static func botExecutable() -> URL? {
        if let path = ProcessInfo.processInfo.environment["ASSAY_BOT"], FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("assay-bot")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : nil
    }

    static func run(_ executable: URL, _ arguments: [String]) throws -> [UInt8] {
        let process = Process()
        let output = Pipe()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CommandFailure("assay-bot \(arguments.first ?? "") failed (exit \(process.terminationStatus))") }
        return Array(data)
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
        try await app.migrateCatalog()
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
