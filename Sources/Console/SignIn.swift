import Foundation

/// The service and the tenant key a sign-in belongs to, from the installed bundle. The grant is
/// sent nowhere else and scans encrypt to no other key: a bundle installed later that names
/// another service or key (by mistake, or by someone who can write the state directory) cannot
/// reroute the saved sign-in (issue 17, 2).
public struct ServiceBinding: Codable, Sendable, Equatable {
    public let serviceURL: String
    public let keyFingerprint: String

    public init(serviceURL: String, keyFingerprint: String) {
        self.serviceURL = (try? ServiceEndpoint(serviceURL).base.absoluteString) ?? serviceURL
        self.keyFingerprint = keyFingerprint.replacingOccurrences(of: " ", with: "").lowercased()
    }

    public init(_ bundle: TenantBundle) {
        self.init(serviceURL: bundle.serviceURL, keyFingerprint: bundle.fingerprint)
    }

    /// Credentials the service issued: for the bundle's tenant key, or refused.
    public func check(_ credentials: ServiceClient.Credentials) throws {
        guard credentials.keyFingerprint.lowercased() == keyFingerprint else {
            throw ConsoleError.refused(
                "the service's tenant key is \(credentials.keyFingerprint.prefix(40)), not the bundle's \(keyFingerprint): download the console bundle again from the portal and run `assay init --replace BUNDLE`"
            )
        }
    }
}

/// What `token.txt` holds (CON-3): the 90-day grant and the 12-hour upload-only token, mode 0600.
/// The e-mail is the signed-in user's own, kept so that `assay status` can say who it is.
public struct StoredSignIn: Codable, Sendable {
    public var email: String
    public var signedInAt: Date
    public var grant: String
    public var grantExpiresAt: Date
    public var uploadToken: String
    public var uploadTokenExpiresAt: Date
    public var tenantID: String
    /// Where the grant may be sent and which key scans encrypt to; absent in files written before
    /// issue 17, which are then refused (sign in again).
    public var binding: ServiceBinding?

    public init(email: String, signedInAt: Date, binding: ServiceBinding, _ credentials: ServiceClient.Credentials) {
        self.binding = binding
        self.email = email
        self.signedInAt = signedInAt
        grant = credentials.grant
        grantExpiresAt = credentials.grantExpiresAt
        uploadToken = credentials.uploadToken
        uploadTokenExpiresAt = credentials.uploadTokenExpiresAt
        tenantID = credentials.tenantID
    }

    mutating func apply(_ credentials: ServiceClient.Credentials) {
        grant = credentials.grant
        grantExpiresAt = credentials.grantExpiresAt
        uploadToken = credentials.uploadToken
        uploadTokenExpiresAt = credentials.uploadTokenExpiresAt
    }
}

/// Sign-in, renewal and sign-out, and the file they live in.
public struct SignInStore: Sendable {
    public let state: StateDirectory
    /// The installed bundle's service and key: the saved sign-in is used only with these.
    public let binding: ServiceBinding
    /// How long to wait for another process's renewal (whose call is itself bounded).
    public var lockWait: Duration = .seconds(135)
    /// Renew when less than this is left, so a long upload never starts on a dying token.
    public static let renewalMargin: TimeInterval = 30 * 60

    public init(state: StateDirectory, binding: ServiceBinding) {
        self.state = state
        self.binding = binding
    }

    public func load() throws -> StoredSignIn? {
        guard FileManager.default.fileExists(atPath: state.token.path) else { return nil }
        var info = stat()
        if stat(state.token.path, &info) == 0, info.st_mode & 0o077 != 0 {
            // Someone widened it: narrow it again before reading a secret from it.
            chmod(state.token.path, 0o600)
        }
        return try state.readJSON(StoredSignIn.self, from: state.token)
    }

    public func save(_ signIn: StoredSignIn) throws {
        try state.writeJSON(signIn, to: state.token)
    }

    /// Refuses a sign-in made with another service or key than the installed bundle's: its grant
    /// is never sent to the bundle's service.
    public func checkBinding(_ signIn: StoredSignIn) throws {
        guard let saved = signIn.binding else {
            throw ConsoleError.notSignedIn("token.txt predates this console version and names no service: run `assay login` again")
        }
        guard ServiceBinding(serviceURL: saved.serviceURL, keyFingerprint: saved.keyFingerprint) == binding else {
            throw ConsoleError.refused(
                "the sign-in of \(signIn.email) was made with \(saved.serviceURL) (key \(saved.keyFingerprint)); the installed bundle names \(binding.serviceURL) (key \(binding.keyFingerprint)). The grant is not sent elsewhere: run `assay login` to sign in to the bundle's service"
            )
        }
    }

    public func remove() throws {
        if FileManager.default.fileExists(atPath: state.token.path) { try FileManager.default.removeItem(at: state.token) }
    }

    /// An upload token good for a while yet: renewed with the grant when it is close to its end;
    /// after the grant's 90 days, a new sign-in is asked for.
    public func validUploadToken(client: ServiceClient, now: Date = Date()) async throws -> StoredSignIn {
        let signIn = try current(now: now)
        if signIn.uploadTokenExpiresAt.timeIntervalSince(now) > Self.renewalMargin { return signIn }
        return try await renew(client: client, unlessValidAt: now)
    }

    /// Renews now (after a 401 on an upload), or, with `unlessValidAt`, only if no other process
    /// renewed meanwhile.
    public func renew(client: ServiceClient, unlessValidAt now: Date? = nil) async throws -> StoredSignIn {
        // The service rotates the grant on every renewal and revokes the whole chain when an old
        // one comes back, so two console processes (a timer's `collect` and a hand-run `upload`)
        // must never renew with the same grant: one renews under the lock, the other reads its result.
        let lock = try FileLock(state.root.appendingPathComponent("token.lock").path, wait: lockWait)
        defer { lock.release() }
        let before = try current(now: now ?? Date())
        if let now, before.uploadTokenExpiresAt.timeIntervalSince(now) > Self.renewalMargin { return before }
        var signIn = before
        let renewed = try await client.renew(grant: signIn.grant, machineID: try state.machineIdentifier())
        try binding.check(renewed)
        signIn.apply(renewed)
        try save(signIn)
        return signIn
    }

    /// The saved sign-in, if it belongs to the installed bundle's service and key.
    public func current(now: Date) throws -> StoredSignIn {
        guard let signIn = try load() else { throw ConsoleError.notSignedIn("nobody is signed in on this console: run `assay login`") }
        try checkBinding(signIn)
        guard signIn.grantExpiresAt > now else {
            throw ConsoleError.notSignedIn("the sign-in of \(signIn.email) ended on \(signIn.grantExpiresAt.formatted(.iso8601)) (90 days): run `assay login`")
        }
        return signIn
    }
}
