import Foundation

/// A session that `SessionLifecycle.resolve` found live: who, which tenant, and what the cookie
/// must carry from now on.
public struct LiveSession: Sendable {
    public let sessionID: UUID
    public let userID: UUID
    public let tenantID: TenantID
    public let email: String
    public let claims: Set<Claim>
    /// What state-changing requests of this session must echo (AUTH-10).
    public let csrfToken: String
    public let expiresAt: Date
    /// A fresh token when this request rotated the session's: the cookie carries it from now on.
    public let replacementToken: String?
    /// When the session ends if it is not used before (the idle timeout); the portal warns ahead.
    public let idleExpiresAt: Date

    /// Made only by `SessionLifecycle.resolve`, below: a session's tenant is a scope (issue 17, 15).
    fileprivate init(
        sessionID: UUID, userID: UUID, tenantID: TenantID, email: String, claims: Set<Claim>, csrfToken: String, expiresAt: Date,
        replacementToken: String?, idleExpiresAt: Date
    ) {
        self.sessionID = sessionID
        self.userID = userID
        self.tenantID = tenantID
        self.email = email
        self.claims = claims
        self.csrfToken = csrfToken
        self.expiresAt = expiresAt
        self.replacementToken = replacementToken
        self.idleExpiresAt = idleExpiresAt
    }

    /// The only way from a session to its tenant's data.
    public var scope: TenantScope { TenantScope(session: self) }
    /// How the audit log names this user.
    var actor: String { "user:\(userID)" }
}

/// A session's whole life in one place (AUTH-8, AUTH-10): created at sign-in, found and renewed on
/// each request, ended by its user, by the 24-hour limit, or with all of a user's sessions when an
/// administrator changes them. The token exists only in the user's cookie; the catalog keeps its hash.
public struct SessionLifecycle: Sendable {
    let catalog: Catalog
    let now: @Sendable () -> Date

    init(catalog: Catalog, now: @escaping @Sendable () -> Date) {
        self.catalog = catalog
        self.now = now
    }

    /// What a successful sign-in hands the browser (the token goes into the cookie and nowhere else).
    public struct Grant: Sendable, Equatable {
        public let token: String
        public let sessionID: UUID
        public let expiresAt: Date
    }

    /// Opens a session for a user who passed every step of the sign-in.
    func open(for user: UserAccount, fingerprint: String, at time: Date) async throws -> Grant {
        let token = SecretToken(prefix: "ass_")
        let session = try await catalog.sessions.create(userID: user.id, tenantID: user.tenantID, tokenHash: token.hash, fingerprint: fingerprint, at: time)
        try await catalog.users.recordActivity(userID: user.id, at: time)
        try await catalog.audit.append(
            tenantID: user.tenantID, actor: "user:\(user.id)", action: "signin.succeeded", subject: "session:\(session.id)", at: time)
        return Grant(token: token.value, sessionID: session.id, expiresAt: session.expiresAt)
    }

    /// How sessions age (AUTH-8, AUTH-10, ASVS 3.3.2).
    public struct Policy: Sendable {
        /// The token is replaced this long after its last replacement.
        public var rotation: TimeInterval = 900
        /// A session unused this long ends.
        public var idleTimeout: TimeInterval = 7200
        /// The replaced token still works this long: a page's parallel requests at the rotation
        /// moment carry the old cookie.
        public var rotationGrace: TimeInterval = 30

        public init(rotation: TimeInterval = 900, idleTimeout: TimeInterval = 7200, rotationGrace: TimeInterval = 30) {
            self.rotation = rotation
            self.idleTimeout = idleTimeout
            self.rotationGrace = rotationGrace
        }
    }

    public enum Resolution: Sendable {
        case live(LiveSession)
        /// No session has this token: a guess, or a session ended long ago.
        case unknown
        /// The session was over (24 hours, or its user disabled) and is now gone.
        case ended
    }

    /// The session of a cookie's token: live (its token replaced once `policy.rotation` has
    /// passed since the last replacement), or why not. The token it replaced works for a short
    /// grace, so that requests racing the rotation are not signed out.
    public func resolve(token: String, policy: Policy) async throws -> Resolution {
        let time = now()
        guard token.utf8.count <= 128, let (session, current) = try await catalog.sessions.find(tokenHash: SecretToken.hash(token), at: time) else {
            return .unknown
        }
        guard session.expiresAt > time, session.lastSeenAt.addingTimeInterval(policy.idleTimeout) > time,
            let user = try await catalog.users.find(id: session.userID), user.state == .active
        else {
            try await catalog.sessions.delete(sessionID: session.id)
            return .ended
        }
        var replacement: String?
        if current, time.timeIntervalSince(session.rotatedAt) >= policy.rotation {
            let fresh = SecretToken(prefix: "ass_")
            // Only one of the requests racing here wins; the others carry on with the old token.
            if try await catalog.sessions.rotate(
                sessionID: session.id, from: session.tokenHash, to: fresh.hash, graceUntil: time.addingTimeInterval(policy.rotationGrace), at: time)
            {
                replacement = fresh.value
            }
        }
        try await catalog.sessions.touch(sessionID: session.id, at: time)
        return .live(
            LiveSession(
                sessionID: session.id, userID: user.id, tenantID: user.tenantID, email: user.email, claims: user.claims,
                csrfToken: session.csrfToken, expiresAt: session.expiresAt, replacementToken: replacement,
                idleExpiresAt: min(session.expiresAt, time.addingTimeInterval(policy.idleTimeout))))
    }

    /// Sign-out: the session is destroyed at once.
    public func signOut(_ session: LiveSession) async throws {
        try await catalog.sessions.delete(sessionID: session.sessionID)
        try await catalog.audit.append(
            tenantID: session.tenantID, actor: session.actor, action: "session.ended", subject: "session:\(session.sessionID)", at: now())
    }

    /// A user ends one of their own sessions; false when it is not theirs (or does not exist).
    public func end(sessionID: UUID, by session: LiveSession) async throws -> Bool {
        guard try await catalog.sessions.delete(sessionID: sessionID, of: session.userID) else { return false }
        try await catalog.audit.append(tenantID: session.tenantID, actor: session.actor, action: "session.ended", subject: "session:\(sessionID)", at: now())
        return true
    }

    /// Every session of a user ends (claims changed, account disabled), or every one but `kept`.
    func endAll(of userID: UUID, except kept: UUID? = nil) async throws {
        try await catalog.sessions.deleteAll(of: userID, except: kept)
    }

    /// The user's sessions, newest first.
    public func sessions(of session: LiveSession) async throws -> [SessionRecord] {
        try await catalog.sessions.sessions(of: session.userID)
    }
}
