import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
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
    if let url = configuration.databaseURL {
        app.databases.use(.postgres(configuration: try SQLPostgresConfiguration(url: url), sqlLogLevel: .trace), as: .psql)
    } else {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        app.databases.use(.sqlite(.file(configuration.dataDirectory + "/catalog.sqlite"), sqlLogLevel: .trace), as: .sqlite)
    }
    app.migrations.add(M001_CreateTenants())
    app.migrations.add(M002_CreateUsers())
    app.migrations.add(M003_CreateInvitations())
    app.migrations.add(M004_CreateAuditEvents())
    app.migrations.add(M005_CreateSessions())
    app.migrations.add(M006_AddSessionCSRFToken())
    app.migrations.add(M007_CreateTenantKeysAndUploads())

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

    app.asyncCommands.use(TenantCommands(), as: "tenant")
    app.asyncCommands.use(QuickstartCommand(), as: "quickstart")
    app.asyncCommands.use(AuditCommands(), as: "audit")
    app.asyncCommands.use(GrantsCommand(), as: "grants")
    app.asyncCommands.use(KeyCommands(), as: "keys")

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
