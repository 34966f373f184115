import Foundation
import SMTP

/// One typed configuration, read in layers: environment > config file (JSON) > defaults.
/// Command-line flags of `serve` (--hostname, --port) override all of them. There are no default
/// secrets; production refuses to start without the settings it needs, naming each variable.
public struct ServerConfiguration: Sendable, Equatable {
    public enum Mode: String, Sendable, Codable { case development, production }

    public var mode: Mode = .development
    /// Where the embedded defaults live: catalog.sqlite, tenants per region, outbox.
    public var dataDirectory: String = "./data"
    /// PostgreSQL URL of the catalog; nil means SQLite in the data directory.
    public var databaseURL: String?
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// How users reach the portal; links in mails are built from it. Derived from host and port
    /// when not set.
    public var publicURLSetting: String?
    public var publicURL: String { publicURLSetting ?? "http://\(host):\(port)" }
    /// Regions a tenant can be created in (ING-2), each with its own storage location.
    public var regions: [Region] = [Region(id: "local", storage: "./data/local")]
    /// smtp://user:password@host:587 (STARTTLS); nil writes mail to the outbox directory.
    public var smtpURL: String?
    /// PEM CA file to trust for the SMTP relay instead of the system's.
    public var smtpCAFile: String?
    /// The sender of every mail.
    public var mailFrom: String = "no-reply@assay.localhost"
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Peers whose X-Forwarded-For is believed (a reverse proxy); empty means none.
    public var trustedProxies: [String] = []
    /// How often a session token is replaced (AUTH-10).
    public var sessionRotationSeconds: Int = 900
    /// A session unused for this long ends (ASVS 3.3.2), on top of the 24-hour absolute limit.
    public var sessionIdleSeconds: Int = 7200
    /// The key-encryption key file (KEY-3); in development a generated `data/kek` when unset.
    public var kekFile: String?
    /// ASSAY_KEK is set (its value is read only where the key is loaded, never kept here).
    public var kekInEnvironment = false
    /// The previous key-encryption key, while `key rotate-kek` re-wraps.
    public var previousKEKFile: String?
    /// Bits of new tenant keys: 2048, 3072 or 4096 (KEY-1).
    public var tenantKeyBits: Int = 3072
    /// Unwraps of one tenant's key per minute before it locks (KEY-4). One unwrap serves a batch of
    /// up to 32 claimed uploads, so 3,000 a minute lets one tenant's uploads flow at ~1,600/s across
    /// all workers and replicas, while a loop that unwraps without work trips it within a minute.
    public var keyUnwrapsPerMinute: Int = 3000
    /// Largest upload accepted, in bytes.
    public var maxUploadBytes: Int = 16 << 20
    /// Per tenant (SEC-5): uploads a minute and bytes a day before uploads answer 429.
    public var tenantUploadsPerMinute: Int = 6000
    public var tenantBytesPerDay: Int = 20 << 30
    /// How long the encrypted body of a failed upload is kept (and the upload listed) before it is removed.
    public var failedUploadRetentionDays: Int = 16
    /// Sign-in mail (codes, lock notices) leaves off the request path, so that answers take the
    /// same time whether or not an address has an account. Tests that read the mail at once turn it off.
    public var detachedSignInMail = true
    /// Ingest workers in this replica (0: this replica only accepts uploads).
    public var ingestWorkers: Int = 2
    /// Where `scripts/build-console.sh` left the tenant-neutral console archive, which the portal
    /// completes with a tenant's bundle at download (CON-5).
    public var consoleDistDirectory: String = "./dist"

    public init() {}

    public struct Region: Sendable, Equatable, Codable {
        public var id: String
        public var storage: String
        /// PostgreSQL server for the region's tenant databases; nil means SQLite files under `storage`.
        public var databaseURL: String?

        public init(id: String, storage: String, databaseURL: String? = nil) {
            self.id = id
            self.storage = storage
            self.databaseURL = databaseURL
        }
    }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The file layer: every field optional.
    struct FileLayer: Codable {
        var mode: Mode?
        var dataDirectory: String?
        var databaseURL: String?
        var host: String?
        var port: Int?
        var publicURL: String?
        var regions: [Region]?
        var smtpURL: String?
        var smtpCAFile: String?
        var mailFrom: String?
        var tlsCertificatePath: String?
        var tlsKeyPath: String?
        var trustedProxies: [String]?
        var sessionRotationSeconds: Int?
        var sessionIdleSeconds: Int?
        var kekFile: String?
        var previousKEKFile: String?
        var tenantKeyBits: Int?
        var keyUnwrapsPerMinute: Int?
        var maxUploadBytes: Int?
        var tenantUploadsPerMinute: Int?
        var tenantBytesPerDay: Int?
        var failedUploadRetentionDays: Int?
        var ingestWorkers: Int?
        var consoleDistDirectory: String?
    }

    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let path = environment["ASSAY_CONFIG"], !path.isEmpty {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw Invalid(description: "ASSAY_CONFIG names \(path), which cannot be read")
            }
            let file: FileLayer
            do { file = try JSONDecoder().decode(FileLayer.self, from: data) } catch {
                throw Invalid(description: "ASSAY_CONFIG \(path) is not valid JSON configuration: \(error)")
            }
            configuration.apply(file)
        }
        try configuration.apply(environment: environment)
        try configuration.validate()
        return configuration
    }

    mutating func apply(_ file: FileLayer) {
        mode = file.mode ?? mode
        dataDirectory = file.dataDirectory ?? dataDirectory
        databaseURL = file.databaseURL ?? databaseURL
        host = file.host ?? host
        port = file.port ?? port
        publicURLSetting = file.publicURL ?? publicURLSetting
        regions = file.regions ?? regions
        smtpURL = file.smtpURL ?? smtpURL
        smtpCAFile = file.smtpCAFile ?? smtpCAFile
        mailFrom = file.mailFrom ?? mailFrom
        tlsCertificatePath = file.tlsCertificatePath ?? tlsCertificatePath
        tlsKeyPath = file.tlsKeyPath ?? tlsKeyPath
        trustedProxies = file.trustedProxies ?? trustedProxies
        sessionRotationSeconds = file.sessionRotationSeconds ?? sessionRotationSeconds
        sessionIdleSeconds = file.sessionIdleSeconds ?? sessionIdleSeconds
        kekFile = file.kekFile ?? kekFile
        previousKEKFile = file.previousKEKFile ?? previousKEKFile
        tenantKeyBits = file.tenantKeyBits ?? tenantKeyBits
        keyUnwrapsPerMinute = file.keyUnwrapsPerMinute ?? keyUnwrapsPerMinute
        maxUploadBytes = file.maxUploadBytes ?? maxUploadBytes
        tenantUploadsPerMinute = file.tenantUploadsPerMinute ?? tenantUploadsPerMinute
        tenantBytesPerDay = file.tenantBytesPerDay ?? tenantBytesPerDay
        failedUploadRetentionDays = file.failedUploadRetentionDays ?? failedUploadRetentionDays
        ingestWorkers = file.ingestWorkers ?? ingestWorkers
        consoleDistDirectory = file.consoleDistDirectory ?? consoleDistDirectory
    }

    mutating func apply(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        if let raw = value("ASSAY_ENV") {
            guard let parsed = Mode(rawValue: raw) else { throw Invalid(description: "ASSAY_ENV must be development or production, not \(raw)") }
            mode = parsed
        }
        dataDirectory = value("ASSAY_DATA_DIR") ?? dataDirectory
        databaseURL = value("DATABASE_URL") ?? databaseURL
        host = value("ASSAY_HOST") ?? host
        if let raw = value("ASSAY_PORT") {
            guard let parsed = Int(raw), (1...65535).contains(parsed) else { throw Invalid(description: "ASSAY_PORT must be a port number, not \(raw)") }
            port = parsed
        }
        publicURLSetting = value("PUBLIC_URL") ?? publicURLSetting
        if let raw = value("ASSAY_REGIONS") {
            // "us-west,eu-west" or "us-west=/srv/assay/us-west,eu-west=/srv/assay/eu-west"
            regions = raw.split(separator: ",").map { entry in
                let parts = entry.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                return Region(
                    id: parts[0], storage: parts.count > 1 ? parts[1] : "\(dataDirectory)/\(parts[0])",
                    databaseURL: value("DATABASE_URL_\(parts[0].uppercased().replacingOccurrences(of: "-", with: "_"))"))
            }
        } else if value("ASSAY_DATA_DIR") != nil {
            regions = regions.map { Region(id: $0.id, storage: "\(dataDirectory)/\($0.id)", databaseURL: $0.databaseURL) }
        }
        smtpURL = value("SMTP_URL") ?? smtpURL
        smtpCAFile = value("SMTP_CA_FILE") ?? smtpCAFile
        mailFrom = value("MAIL_FROM") ?? mailFrom
        tlsCertificatePath = value("TLS_CERT") ?? tlsCertificatePath
        tlsKeyPath = value("TLS_KEY") ?? tlsKeyPath
        if let raw = value("TRUSTED_PROXIES") {
            trustedProxies = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        consoleDistDirectory = value("ASSAY_CONSOLE_DIST") ?? consoleDistDirectory
        kekFile = value("ASSAY_KEK_FILE") ?? kekFile
        kekInEnvironment = value("ASSAY_KEK") != nil
        previousKEKFile = value("ASSAY_KEK_PREVIOUS_FILE") ?? previousKEKFile
        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let raw = value(name) else { return nil }
            guard let parsed = Int(raw), range.contains(parsed) else {
                throw Invalid(description: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \(raw)")
            }
            return parsed
        }
        tenantKeyBits = try integer("ASSAY_TENANT_KEY_BITS", 2048...4096) ?? tenantKeyBits
        keyUnwrapsPerMinute = try integer("ASSAY_KEY_UNWRAPS_PER_MINUTE", 1...1_000_000) ?? keyUnwrapsPerMinute
        maxUploadBytes = try integer("ASSAY_MAX_UPLOAD_BYTES", 1024...1 << 30) ?? maxUploadBytes
        tenantUploadsPerMinute = try integer("ASSAY_TENANT_UPLOADS_PER_MINUTE", 1...100_000_000) ?? tenantUploadsPerMinute
        tenantBytesPerDay = try integer("ASSAY_TENANT_BYTES_PER_DAY", 1 << 20...1 << 50) ?? tenantBytesPerDay
        failedUploadRetentionDays = try integer("ASSAY_FAILED_UPLOAD_DAYS", 1...365) ?? failedUploadRetentionDays
        ingestWorkers = try integer("ASSAY_INGEST_WORKERS", 0...64) ?? ingestWorkers
        if let raw = value("SESSION_ROTATION_SECONDS") {
            guard let parsed = Int(raw), parsed >= 60 else { throw Invalid(description: "SESSION_ROTATION_SECONDS must be a number of seconds, at least 60") }
            sessionRotationSeconds = parsed
        }
        sessionIdleSeconds = try integer("SESSION_IDLE_SECONDS", 300...86_400) ?? sessionIdleSeconds
    }

    func validate() throws {
        guard !regions.isEmpty else { throw Invalid(description: "ASSAY_REGIONS names no region") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        for region in regions where region.id.isEmpty || !region.id.allSatisfy(allowed.contains) {
            throw Invalid(description: "region id \"\(region.id)\" must be lower-case letters, digits and dashes (like eu-west)")
        }
        guard Set(regions.map(\.id)).count == regions.count else { throw Invalid(description: "ASSAY_REGIONS names a region twice") }
        guard (tlsCertificatePath == nil) == (tlsKeyPath == nil) else {
            throw Invalid(description: "TLS_CERT and TLS_KEY go together: set both or neither")
        }
        for proxy in trustedProxies {
            let address = proxy.split(separator: "/").first.map(String.init) ?? proxy
            let prefix = proxy.split(separator: "/").dropFirst().first.flatMap { Int($0) }
            guard TrustedProxies.isIPAddress(address),
                !proxy.contains("/") || (TrustedProxies.ipv4(address) != nil && prefix.map { (0...32).contains($0) } == true)
            else {
                throw Invalid(description: "TRUSTED_PROXIES entry \"\(proxy)\" must be an IP address or an IPv4 range like 10.0.0.0/8")
            }
        }
        if let smtpURL {
            do { _ = try SMTPConfiguration(url: smtpURL) } catch { throw Invalid(description: "\(error)") }
        }
        guard [2048, 3072, 4096].contains(tenantKeyBits) else { throw Invalid(description: "ASSAY_TENANT_KEY_BITS must be 2048, 3072 or 4096") }
        guard mode == .production else { return }
        guard databaseURL != nil else { throw Invalid(description: "production needs DATABASE_URL (the PostgreSQL URL of the catalog)") }
        guard smtpURL != nil else { throw Invalid(description: "production needs SMTP_URL (smtp://user:password@host:587, STARTTLS)") }
        guard publicURL.hasPrefix("https://") else { throw Invalid(description: "production needs PUBLIC_URL with https://") }
        guard tlsCertificatePath != nil || !trustedProxies.isEmpty else {
            throw Invalid(description: "production needs TLS_CERT and TLS_KEY, or TRUSTED_PROXIES when a reverse proxy terminates TLS")
        }
        guard kekFile != nil || kekInEnvironment else {
            throw Invalid(description: "production needs ASSAY_KEK_FILE (or ASSAY_KEK): the key that wraps tenant secret keys")
        }
        for region in regions where region.databaseURL == nil {
            throw Invalid(
                description: "production needs DATABASE_URL_\(region.id.uppercased().replacingOccurrences(of: "-", with: "_")) for region \(region.id)")
        }
        // SEC-1, SEC-6: the data goes to PostgreSQL over TLS with its certificate verified, or stays on this machine.
        var databases = [("DATABASE_URL", databaseURL)]
        databases += regions.map { ("DATABASE_URL_\($0.id.uppercased().replacingOccurrences(of: "-", with: "_"))", $0.databaseURL) }
        for case (let name, let url?) in databases where !Self.reachesPostgresSafely(url) {
            throw Invalid(
                description: "\(name) reaches a PostgreSQL server on another machine without certificate verification: add ?sslmode=verify-full "
                    + "(TLS required, certificate and host name verified against the system's trust store)")
        }
    }

    /// A PostgreSQL URL is safe to use in production when it stays on this machine (loopback or a
    /// Unix socket) or requires TLS. PostgresKit verifies the chain and the host name whenever it
    /// uses TLS, but its default (`prefer`) falls back to plain text when the server does not offer
    /// TLS; `require`, `verify-ca` and `verify-full` all refuse that.
    static func reachesPostgresSafely(_ url: String) -> Bool {
        guard let components = URLComponents(string: url) else { return false }
        if components.scheme?.hasSuffix("+uds") == true { return true }
        // The host parsed as an address, not matched as text: 127.db.example.com is a DNS name.
        let host = (components.host ?? "").lowercased()
        if host == "localhost" || IPAddress(host)?.isLoopback == true { return true }
        let mode = components.queryItems?.last { ["tlsmode", "sslmode", "ssl", "tls"].contains($0.name.lowercased()) }?.value?.lowercased()
        return ["require", "verify-ca", "verify-full"].contains(mode ?? "")
    }

    public func region(_ id: String) -> Region? { regions.first { $0.id == id } }
}
