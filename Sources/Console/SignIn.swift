import Foundation

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

    public init(email: String, signedInAt: Date, _ credentials: ServiceClient.Credentials) {
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
    /// Renew when less than this is left, so a long upload never starts on a dying token.
    public static let renewalMargin: TimeInterval = 30 * 60

    public init(state: StateDirectory) { self.state = state }

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
        let lock = try FileLock(state.root.appendingPathComponent("token.lock").path)
        defer { lock.release() }
        let before = try current(now: now ?? Date())
        if let now, before.uploadTokenExpiresAt.timeIntervalSince(now) > Self.renewalMargin { return before }
        var signIn = before
        signIn.apply(try await client.renew(grant: signIn.grant, machineID: try state.machineIdentifier()))
        try save(signIn)
        return signIn
    }

    private func current(now: Date) throws -> StoredSignIn {
        guard let signIn = try load() else { throw ConsoleError.notSignedIn("nobody is signed in on this console: run `assay login`") }
        guard signIn.grantExpiresAt > now else {
            throw ConsoleError.notSignedIn("the sign-in of \(signIn.email) ended on \(signIn.grantExpiresAt.formatted(.iso8601)) (90 days): run `assay login`")
        }
        return signIn
    }
}
