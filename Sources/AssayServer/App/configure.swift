import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Leaf
import LeafKit
import NIOConcurrencyHelpers
import NIOSSL
import OpenPGP
import SMTP
import Vapor

/// Wires the application: databases, migrations, middleware, routes. Commands and tests call it.
/// The commands of `assay-server`, registered without touching any database or file, so that
/// `--help` works anywhere.
func registerCommands(_ app: Application) {
    app.asyncCommands.use(MigrateCommand(), as: "migrate")  // in place of Fluent's
    app.asyncCommands.use(TenantCommands(), as: "tenant")
    app.asyncCommands.use(QuickstartCommand(), as: "quickstart")
    app.asyncCommands.use(AuditCommands(), as: "audit")
    app.asyncCommands.use(GrantsCommand(), as: "grants")
    app.asyncCommands.use(TenantKeyCommands(), as: "key")
    app.asyncCommands.use(UploadTokenCommand(), as: "upload-token")
}

public func configure(
    _ app: Application, configuration: ServerConfiguration, hasher: PasswordHasher = PasswordHasher(),
    now: @escaping @Sendable () -> Date = Date.init
) async throws {
    app.assayConfiguration = configuration
    app.clock = now
    app.keyEncryptionKeys = try KeyEncryptionKeys.load(configuration: configuration)
    app.ingest = IngestParts(
        spool: LocalSpool(directory: configuration.dataDirectory + "/spool"),
        tenantDatabases: TenantDatabases(
            databases: app.databases, configuration: configuration, logger: app.logger,
            eventLoopGroup: app.eventLoopGroup),
        cache: AggregateCache())
    if let url = configuration.databaseURL {
        // One connection per event loop (the default): measured, four made acknowledgements slower
        // (p99 58 ms against 49 ms at 200/s), as more PostgreSQL backends contend for the same cores.
        app.databases.use(.postgres(configuration: try SQLPostgresConfiguration(url: url), sqlLogLevel: .trace), as: .psql)
    } else {
        try FileManager.default.createDirectory(
            atPath: configuration.dataDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        // Write-ahead logging is set where the catalog is first written (`migrateCatalog`, `serve`).
        app.databases.use(.sqlite(.file(configuration.dataDirectory + "/catalog.sqlite"), sqlLogLevel: .trace), as: .sqlite)
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
    app.middleware.use(
        SessionMiddleware(
            policy: .init(rotation: TimeInterval(configuration.sessionRotationSeconds), idleTimeout: TimeInterval(configuration.sessionIdleSeconds)),
            trustedProxies: configuration.trustedProxies,
            guesses: TokenGuessCounter(action: "security.session-token-guessing"), now: now))

    registerCommands(app)

    try routes(app)
    try PortalController().register(app)
    if let layout = Bundle.module.url(forResource: "Resources/Views/layout", withExtension: "leaf") {
        let views = layout.deletingLastPathComponent().resolvingSymlinksInPath().path
        app.leaf.configuration = LeafConfiguration(rootDirectory: views)
        // Sandboxed to the views directory; not `.toVisibleFiles`, which refuses any path with a
        // hidden directory in it (a build under .build).
        app.leaf.sources = .singleSource(
            NIOLeafFiles(
                fileio: app.fileio, limits: [.toSandbox, .requireExtensions],
                sandboxDirectory: views, viewDirectory: views))
    }
    app.views.use(.leaf)
    let limiter = HashingLimiter(limit: System.coreCount)
    let emailPolicy = try EmailPolicy.bundled()
    let admin = AdminController(hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, mailer: app.mailer, publicURL: configuration.publicURL, now: now)
    PortalPages(administration: admin.administration).register(app)
    let api = app.grouped("api", "v1").grouped(OriginCheckMiddleware(publicURL: configuration.publicURL), CSRFTokenMiddleware())
    let signInMailer: any Mailer = configuration.detachedSignInMail ? DetachedMailer(inner: app.mailer, logger: app.logger) : app.mailer
    AuthController(
        hasher: hasher, limiter: limiter, emailPolicy: emailPolicy,
        mailer: signInMailer, trustedProxies: configuration.trustedProxies, now: now
    ).register(api)
    AccountController(hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, mailer: app.mailer, now: now).register(api)
    admin.register(api)

    // Machine clients (the console): no cookies, so no Origin or CSRF check; their own credentials.
    let machines = app.grouped("api", "v1")
    try OpenAPIController().register(machines)
    ConsoleController(
        hasher: hasher, limiter: limiter, emailPolicy: emailPolicy, mailer: signInMailer,
        trustedProxies: configuration.trustedProxies, now: now
    ).register(machines)
    let intake = UploadIntake(queue: app.catalog.uploads, spool: app.ingest.spool, threadPool: app.threadPool, now: now)
    UploadController(
        intake: intake, maxBytes: configuration.maxUploadBytes,
        quota: .init(uploadsPerMinute: configuration.tenantUploadsPerMinute, bytesPerDay: configuration.tenantBytesPerDay),
        trustedProxies: configuration.trustedProxies, now: now
    ).register(machines)
}

/// Starts the configured number of ingest workers when the server starts, stops them at shutdown.
struct IngestLifecycle: LifecycleHandler {
    let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    func didBootAsync(_ application: Application) async throws {
        let pending = try await application.catalogMigrator.pending()
        guard pending.isEmpty else {
            throw CommandFailure("the catalog database lacks \(pending.count) migration(s) (\(pending.first ?? "")…): run `assay-server migrate` first")
        }
        try await application.catalog.useWriteAheadLog()
        let count = application.assayConfiguration.ingestWorkers
        let host = ProcessInfo.processInfo.hostName
        try await IngestWorker.releaseClaimsOfDeadProcesses(host: host, catalog: application.catalog, logger: application.logger)
        var started: [Task<Void, Never>] = []
        for index in 0..<count {
            let worker = try application.ingestWorker(name: "\(host)-\(getpid())-\(index)")
            started.append(Task { await worker.run() })
        }
        // Failed uploads past their retention go, once an hour (and now).
        let retention = UploadRetention(
            catalog: application.catalog, spool: application.ingest.spool, failedDays: application.assayConfiguration.failedUploadRetentionDays,
            logger: application.logger, now: application.clock)
        started.append(
            Task {
                while !Task.isCancelled {
                    do { try await retention.sweep() } catch { application.logger.warning("upload retention sweep failed; retrying in an hour") }
                    try? await Task.sleep(nanoseconds: 3_600_000_000_000)
                }
            })
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
            guard await request.catalog.answers() else { throw Abort(.serviceUnavailable) }
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
