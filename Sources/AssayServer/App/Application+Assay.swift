import Fluent
import Foundation
import OpenPGP
import SMTP
import Vapor

/// The composition root's bridge from Vapor's database handles to the catalog's stores: the one
/// place outside Storage that names Fluent (see docs/ARCHITECTURE.md).
extension Request {
    /// The catalog on this request's database handle.
    var catalog: Catalog { Catalog(db) }
}

extension Application {
    /// The catalog on the application's database handle (commands, workers, start-up).
    var catalog: Catalog { Catalog(db) }

    var catalogMigrator: SchemaMigrator { catalog.migrator }

    /// Brings the catalog up to date; what is already there is left alone.
    public func migrateCatalog() async throws {
        try await catalog.useWriteAheadLog()
        try await catalogMigrator.prepare()
    }

    private struct ConfigurationKey: StorageKey { typealias Value = ServerConfiguration }
    private struct MailerKey: StorageKey { typealias Value = any Mailer }
    private struct KEKKey: StorageKey { typealias Value = KeyEncryptionKeys }
    private struct ClockKey: StorageKey { typealias Value = @Sendable () -> Date }
    private struct IngestKey: StorageKey { typealias Value = IngestParts }

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
        IngestWorker(
            name: name, catalog: catalog, keyring: try keyring(), tenants: ingest.tenantDatabases, spool: ingest.spool, cache: ingest.cache,
            maxUploadBytes: assayConfiguration.maxUploadBytes, logger: logger, now: clock)
    }

    /// Tenant keys over the catalog.
    public func keyring() throws -> TenantKeyring {
        guard let keys = keyEncryptionKeys else { throw Abort(.serviceUnavailable, reason: "no key-encryption key is configured") }
        let configuration = assayConfiguration
        return TenantKeyring(
            catalog: catalog, keys: keys,
            policy: .init(
                maxUnwrapsPerMinute: configuration.keyUnwrapsPerMinute,
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

/// What the upload endpoints, the workers and the portal share.
public struct IngestParts: Sendable {
    public let spool: any SpoolStore
    public let tenantDatabases: TenantDatabases
    public let cache: AggregateCache
}
