import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import NIOConcurrencyHelpers
import OpenPGP
import Leaf
import LeafKit
import NIOSSL
import SMTP
import Vapor

extension Application {
    private struct ConfigurationKey: StorageKey { typealias Value = ServerConfiguration }
    private struct MailerKey: StorageKey { typealias Value = any Mailer }
    private struct KEKKey: StorageKey { typealias Value = KeyEncryptionKeys }
    private struct ClockKey: StorageKey { typealias Value = @Sendable () -> Date }

    /// The operator's key-encryption keys, loaded once at start (KEY-3).
    public var keyEncryptionKeys: KeyEncryptionKeys? {
        get { storage[KEKKey.self] }
        set { storage[KEKKey.self] = newValue }
    }

    /// The clock every service of this application reads (tests inject one).
    public var clock: @Sendable () -> Date {
        get { storage[ClockKey.self] ?? Date.init }
        set { storage[ClockKey.self] = newValue }
    }

    private struct IngestKey: StorageKey { typealias Value = IngestParts }

    /// The upload pipeline's shared parts: spool, tenant database registry, aggregate cache.
    public var ingest: IngestParts {
        get {
            guard let parts = storage[IngestKey.self] else { fatalError("configure(_:) sets up the ingest parts") }
            return parts
        }
        set { storage[IngestKey.self] = newValue }
    }

    /// An ingest worker of this application (started by `serve`, or called directly by tests).
    public func ingestWorker(name: String) throws -> IngestWorker {
        IngestWorker(name: name, catalog: db, keyring: try keyring(), tenants: ingest.tenantDatabases, spool: ingest.spool, cache: ingest.cache,
                     maxUploadBytes: assayConfiguration.maxUploadBytes, logger: logger, now: clock)
    }

    /// Tenant keys on the given database (the catalog by default).
    public func keyring(on database: (any Database)? = nil) throws -> TenantKeyring {
        guard let keys = keyEncryptionKeys else { throw Abort(.serviceUnavailable, reason: "no key-encryption key is configured") }
        let configuration = assayConfiguration
        return TenantKeyring(database: database ?? db, keys: keys,
                             policy: .init(maxUnwrapsPerMinute: configuration.keyUnwrapsPerMinute,
                                           keyBits: SecretKey.KeySize(rawValue: configuration.tenantKeyBits) ?? .bits3072),
                             now: clock)
    }

    public var assayConfiguration: ServerConfiguration {
        get { storage[ConfigurationKey.self] ?? ServerConfiguration() }
        set { storage[ConfigurationKey.self] = newValue }
    }

    public var mailer: any Mailer {
        get {
            if let mailer = storage[MailerKey.self] { return mailer }
            let configuration = assayConfiguration
            if let url = configuration.smtpURL, let smtp = try? SMTPConfiguration(url: url, trustedCAFile: configuration.smtpCAFile) {
                return SMTPMailer(configuration: smtp, sender: configuration.mailFrom)
            }
            return OutboxMailer(directory: configuration.dataDirectory + "/outbox", sender: configuration.mailFrom)
        }
        set { storage[MailerKey.self] = newValue }
    }
}

/// Wires the application: databases, migrations, middleware, routes. Commands and tests call it.
public func configure(_ app: Application, configuration: ServerConfiguration, hasher: PasswordHasher = PasswordHasher(),
                      now: @escaping @Sendable () -> Date = Date.init) async throws {
    app.assayConfiguration = configuration
    app.clock = now
    app.keyEncryptionKeys = try KeyEncryptionKeys.load(configuration: configuration)
    app.ingest = IngestParts(spool: LocalSpool(directory: configuration.dataDirectory + "/spool"),
                             tenantDatabases: TenantDatabases(databases: app.databases, configuration: configuration, logger: app.logger,
                                                              eventLoopGroup: app.eventLoopGroup),
                             cache: AggregateCache())
    if let url = configuration.databaseURL {
        // One connection per event loop (the default): measured, four made acknowledgements slower
        // (p99 58 ms against 49 ms at 200/s), as more PostgreSQL backends contend for the same cores.
        app.databases.use(.postgres(configuration: try SQLPostgresConfiguration(url: url), sqlLogLevel: .trace), as: .psql)
    } else {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        app.databases.use(.sqlite(.file(configuration.dataDirectory + "/catalog.sqlite"), sqlLogLevel: .trace), as: .sqlite)
        // Write-ahead logging: readers do not wait for the writer, and a commit is one fsync.
        try await (app.db as? any SQLDatabase)?.raw("PRAGMA journal_mode=WAL").run()
    }

    app.http.server.configuration.hostname = configuration.host
    app.http.server.configuration.port = configuration.port
    app.http.server.configuration.serverName = nil  // no Server header: nothing to fingerprint
    if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
        app.http.server.configuration.tlsConfiguration = try TransportSecurity.serverConfiguration(certificateFile: certificate, keyFile: key)
    }

    app.middleware = Middlewares()
    // Security headers outermost, so that error answers carry them too.
    app.middleware.use(SecurityHeadersMiddleware(tls: configuration.tlsCertificatePath != nil || configuration.publicURL.hasPrefix("https://")))
    app.middleware.use(ErrorResponseMiddleware(environment: app.environment))
    app.middleware.use(SessionMiddleware(rotationSeconds: configuration.sessionRotationSeconds, trustedProxies: configuration.trustedProxies,
                                         guesses: SessionGuessCounter(), now: now))

    app.asyncCommands.use(MigrateCommand(), as: "migrate")  // in place of Fluent's
    app.asyncCommands.use(TenantCommands(), as: "tenant")
    app.asyncCommands.use(QuickstartCommand(), as: "quickstart")
    app.asyncCommands.use(AuditCommands(), as: "audit")
    app.asyncCommands.use(GrantsCommand(), as: "grants")
    app.asyncCommands.use(KeyCommands(), as: "keys")
    app.asyncCommands.use(UploadTokenCommand(), as: "upload-token")

    try routes(app)
    try PortalController().register(app)
    if let layout = Bundle.module.url(forResource: "Resources/Views/layout", withExtension: "leaf") {
        let views = layout.deletingLastPathComponent().resolvingSymlinksInPath().path
        app.leaf.configuration = LeafConfiguration(rootDirectory: views)
        // Sandboxed to the views directory; not `.toVisibleFiles`, which refuses any path with a
        // hidden directory in it (a build under .build).
        app.leaf.sources = .singleSource(NIOLeafFiles(fileio: app.fileio, limits: [.toSandbox, .requireExtensions],
                                                      sandboxDirectory: views, viewDirectory: views))
    }
    app.views.use(.leaf)
    PortalPages().register(app)
    let api = app.grouped("api", "v1").grouped(OriginCheckMiddleware(publicURL: configuration.publicURL), CSRFTokenMiddleware())
    let limiter = HashingLimiter(limit: System.coreCount)
    let emailPolicy = try EmailPolicy.bundled()
    AuthController(hasher: hasher, limiter: limiter, emailPolicy: emailPolicy,
                   mailer: app.mailer, trustedProxies: configuration.trustedProxies, now: now).register(api)
    AccountController(hasher: hasher, limiter: limiter, mailer: app.mailer).register(api)
    AdminController(hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, mailer: app.mailer, publicURL: configuration.publicURL).register(api)

    // Machine clients (the console): no cookies, so no Origin or CSRF check; their own credentials.
    let machines = app.grouped("api", "v1")
    ConsoleController(hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, mailer: app.mailer,
                      trustedProxies: configuration.trustedProxies, now: now).register(machines)
    let intake = UploadIntake(catalog: app.db as! any SQLDatabase, spool: app.ingest.spool, threadPool: app.threadPool, now: now)
    UploadController(intake: intake, maxBytes: configuration.maxUploadBytes, now: now).register(machines)
}

/// What the upload endpoints, the workers and the portal share.
public struct IngestParts: Sendable {
    public let spool: any SpoolStore
    public let tenantDatabases: TenantDatabases
    public let cache: AggregateCache
}

/// Starts the configured number of ingest workers when the server starts, stops them at shutdown.
struct IngestLifecycle: LifecycleHandler {
    let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    func didBootAsync(_ application: Application) async throws {
        let count = application.assayConfiguration.ingestWorkers
        let host = ProcessInfo.processInfo.hostName
        try await IngestWorker.releaseClaimsOfDeadProcesses(host: host, catalog: application.db, logger: application.logger)
        var started: [Task<Void, Never>] = []
        for index in 0 ..< count {
            let worker = try application.ingestWorker(name: "\(host)-\(getpid())-\(index)")
            started.append(Task { await worker.run() })
        }
        tasks.withLockedValue { $0 = started }
        if count > 0 { application.logger.info("ingest workers started", metadata: ["count": .stringConvertible(count)]) }
    }

    func shutdownAsync(_ application: Application) async {
        for task in tasks.withLockedValue({ $0 }) { task.cancel() }
        for task in tasks.withLockedValue({ $0 }) { await task.value }
    }
}

func routes(_ app: Application) throws {
    app.get("health") { _ in HealthStatus(status: "ok") }
    app.get("ready") { request async throws -> Response in
        do {
            _ = try await Tenant.query(on: request.db).limit(1).all()
            return try await HealthStatus(status: "ready").encodeResponse(for: request)
        } catch {
            request.logger.warning("readiness check failed: the catalog database does not answer")
            let response = try await HealthStatus(status: "unavailable").encodeResponse(for: request)
            response.status = .serviceUnavailable
            return response
        }
    }
}

struct HealthStatus: Content {
    let status: String
}
