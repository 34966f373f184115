import Foundation

/// An upload token that checked out, with its tenant's state read in the same query.
public struct AuthenticatedUploadToken: Sendable {
    public let tenantID: TenantID
    public let userID: UUID?
    public let familyID: UUID
    public let tenantActive: Bool
    public let keyLocked: Bool

    /// Made only by `ConsoleCredentials.authenticate`, below (issue 17, 15).
    fileprivate init(tenantID: TenantID, userID: UUID?, familyID: UUID, tenantActive: Bool, keyLocked: Bool) {
        self.tenantID = tenantID
        self.userID = userID
        self.familyID = familyID
        self.tenantActive = tenantActive
        self.keyLocked = keyLocked
    }

    /// The only way from an upload token to its tenant's data.
    public var scope: TenantScope { TenantScope(uploadToken: self) }
}

/// Console grants and upload tokens (CON-3, CON-4). A grant lives 90 days and is exchanged for a
/// fresh grant and upload token; each grant works once, and presenting a used one revokes its whole
/// family (someone holds a copy). Upload tokens live 12 hours and open only the upload endpoints.
public struct ConsoleCredentials: Sendable {
    let catalog: Catalog
    let now: @Sendable () -> Date

    /// A grant family lives 90 days from the console's sign-in, however often it is exchanged;
    /// an upload token 12 hours, never past its family (CON-3).
    public static let grantLifetime: TimeInterval = 90 * 24 * 3600
    public static let uploadTokenLifetime: TimeInterval = 12 * 3600
    /// A refused grant or token is audited once per family in this window: a stale token in a
    /// backup, replayed for ever, cannot grow the tenant's audit chain without bound.
    public static let refusalAuditWindow: TimeInterval = 3600

    public init(catalog: Catalog, now: @escaping @Sendable () -> Date = Date.init) {
        self.catalog = catalog
        self.now = now
    }

    public struct Issued: Sendable, Equatable {
        public let grant: String
        public let grantExpiresAt: Date
        public let uploadToken: String
        public let uploadTokenExpiresAt: Date
        public let tenantID: TenantID
        /// The tenant's published key: the console refuses credentials whose key is not its bundle's.
        public let keyFingerprint: String
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case unknown, expired, revoked, reused
        public var description: String {
            switch self {
            case .unknown, .expired, .revoked: "this console grant is not valid: sign in again"
            case .reused: "this console grant was already used: every grant of this console is revoked; sign in again"
            }
        }
    }

    /// A console's sign-in succeeded: a new grant family.
    func openGrant(for user: UserAccount, machine: String, at time: Date) async throws -> SessionLifecycle.Grant {
        let token = SecretToken(prefix: "asg_")
        let family = UUID()
        let grant = try await catalog.transaction { catalog in
            try await catalog.consoleCredentials.createFamily(family, tenantID: user.tenantID, userID: user.id, at: time)
            return try await catalog.consoleCredentials.createGrant(
                familyID: family, tenantID: user.tenantID, userID: user.id, tokenHash: token.hash,
                machine: machine, at: time, expiresAt: time.addingTimeInterval(Self.grantLifetime))
        }
        try await catalog.audit.append(
            tenantID: user.tenantID, actor: "user:\(user.id)", action: "console.signin.succeeded",
            subject: "grant-family:\(grant.familyID)", detail: "machine=\(machine)", at: time)
        return SessionLifecycle.Grant(token: token.value, sessionID: grant.id, expiresAt: grant.expiresAt)
    }

    /// After a console sign-in: the upload token that goes with the new grant, and its tenant.
    public func issueUploadToken(grantID: UUID) async throws -> (token: String, expiresAt: Date, tenantID: TenantID, keyFingerprint: String) {
        guard let grant = try await catalog.consoleCredentials.grant(id: grantID) else { throw Refusal.unknown }
        let upload = try await Self.uploadToken(for: grant, in: catalog, at: now())
        return (upload.token, upload.expiresAt, upload.tenantID, try await publishedKeyFingerprint(grant.tenantID))
    }

    /// The fingerprint of the key the tenant's consoles must encrypt to now.
    func publishedKeyFingerprint(_ tenantID: TenantID) async throws -> String {
        guard let key = try await catalog.tenantKeys.published(tenantID: tenantID) else { throw TenantKeyring.Failure.noKey }
        return key.fingerprint
    }

    static func uploadToken(for grant: ConsoleGrantRecord, in catalog: Catalog, at time: Date) async throws -> (
        token: String, expiresAt: Date, tenantID: TenantID
    ) {
        let token = SecretToken(prefix: "asu_")
        let expiresAt = min(time.addingTimeInterval(Self.uploadTokenLifetime), grant.expiresAt)
        try await catalog.consoleCredentials.createUploadToken(
            familyID: grant.familyID, tenantID: grant.tenantID, userID: grant.userID, tokenHash: token.hash, at: time, expiresAt: expiresAt)
        return (token.value, expiresAt, grant.tenantID)
    }

    /// An operator's upload token (first run, migrations): no user, a chosen lifetime, audited.
    public func issueOperatorUploadToken(tenantID: TenantID, hours: Int) async throws -> String {
        let token = SecretToken(prefix: "asu_")
        let family = UUID()
        let time = now()
        try await catalog.transaction { catalog in
            try await catalog.consoleCredentials.createFamily(family, tenantID: tenantID, userID: nil, at: time)
            try await catalog.consoleCredentials.createUploadToken(
                familyID: family, tenantID: tenantID, userID: nil, tokenHash: token.hash, at: time,
                expiresAt: time.addingTimeInterval(TimeInterval(hours) * 3600))
        }
        try await catalog.audit.append(
            tenantID: tenantID, actor: "operator", action: "upload-token.issued",
            subject: "tenant:\(tenantID)", detail: "hours=\(hours) family=\(family)", at: time)
        return token.value
    }

    /// Exchanges a grant for a new grant and upload token. The family is held, the grant spent
    /// and its successor made in one transaction: a revocation lands before it (and the exchange
    /// is refused) or after it (and revokes the successor too), never in between.
    public func exchange(grant presented: String, machine: String) async throws -> Issued {
        let time = now()
        let audit = catalog.audit
        let store = catalog.consoleCredentials
        guard presented.utf8.count <= 128, let grant = try await store.grant(tokenHash: SecretToken.hash(presented)) else {
            throw Refusal.unknown
        }
        let actor = "user:\(grant.userID)"
        let subject = "grant-family:\(grant.familyID)"
        if grant.usedAt != nil {
            // A family already revoked is audited once per window like any refusal.
            if try await !revokeReused(grant, at: time) {
                try await auditRefusal(grant.familyID, tenantID: grant.tenantID, actor: actor, why: "reused", at: time)
            }
            throw Refusal.reused
        }
        guard grant.revokedAt == nil else {
            try await auditRefusal(grant.familyID, tenantID: grant.tenantID, actor: actor, why: "revoked", at: time)
            throw Refusal.revoked
        }
        guard grant.expiresAt > time else {
            try await auditRefusal(grant.familyID, tenantID: grant.tenantID, actor: actor, why: "expired", at: time)
            throw Refusal.expired
        }
        guard let user = try await catalog.users.find(id: grant.userID), user.state == .active, !user.claims.isDisjoint(with: [.write, .admin]) else {
            try await store.revokeFamily(grant.familyID, at: time)
            throw Refusal.revoked
        }
        enum Lost: Error { case revoked, reused }
        let issued: (token: String, grantExpiresAt: Date, upload: (token: String, expiresAt: Date, tenantID: TenantID))
        do {
            issued = try await catalog.transaction { catalog in
                let store = catalog.consoleCredentials
                guard try await store.holdLiveFamily(grant.familyID) else { throw Lost.revoked }
                guard try await store.markUsed(grantID: grant.id, at: time) else { throw Lost.reused }
                let token = SecretToken(prefix: "asg_")
                let next = try await store.createGrant(
                    familyID: grant.familyID, tenantID: grant.tenantID, userID: grant.userID, tokenHash: token.hash,
                    machine: machine.isEmpty ? grant.machine : machine, at: time, expiresAt: grant.expiresAt)
                return (token.value, next.expiresAt, try await Self.uploadToken(for: next, in: catalog, at: time))
            }
        } catch Lost.revoked {
            try await auditRefusal(grant.familyID, tenantID: grant.tenantID, actor: actor, why: "revoked", at: time)
            throw Refusal.revoked
        } catch Lost.reused {
            // Another exchange of the same grant won the race: someone holds a copy.
            try await revokeReused(grant, at: time)
            throw Refusal.reused
        }
        try await audit.append(tenantID: grant.tenantID, actor: actor, action: "console.grant.exchanged", subject: subject, at: time)
        return Issued(
            grant: issued.token, grantExpiresAt: issued.grantExpiresAt, uploadToken: issued.upload.token, uploadTokenExpiresAt: issued.upload.expiresAt,
            tenantID: grant.tenantID, keyFingerprint: try await publishedKeyFingerprint(grant.tenantID))
    }

    /// A used grant came back: its family is revoked, and if it was live until now that is a
    /// security event. Returns whether it was live.
    @discardableResult
    private func revokeReused(_ grant: ConsoleGrantRecord, at time: Date) async throws -> Bool {
        guard try await catalog.consoleCredentials.revokeFamily(grant.familyID, at: time) else { return false }
        try await catalog.audit.append(
            tenantID: grant.tenantID, actor: "user:\(grant.userID)", action: "security.console-grant-reused", subject: "grant-family:\(grant.familyID)",
            detail: "every grant and upload token of the family revoked", at: time)
        return true
    }

    /// A refused grant or token, audited once per family and window (counted in the catalog).
    private func auditRefusal(_ family: UUID, tenantID: TenantID, actor: String, why: String, action: String = "console.grant.refused", at time: Date)
        async throws
    {
        guard try await catalog.consoleCredentials.spendRefusalAudit(family, at: time, window: Self.refusalAuditWindow) else { return }
        try await catalog.audit.append(
            tenantID: tenantID, actor: actor, action: action, subject: "grant-family:\(family)",
            detail: "\(why) (further refusals of this family within \(Int(Self.refusalAuditWindow / 60)) minutes are not audited)", at: time)
    }

    /// The principal behind an upload token, or nil (an expired or revoked one is audited, once
    /// per family and window).
    public func authenticate(uploadToken presented: String) async throws -> AuthenticatedUploadToken? {
        guard presented.hasPrefix("asu_"), presented.utf8.count <= 128,
            let row = try await catalog.consoleCredentials.uploadToken(tokenHash: SecretToken.hash(presented))
        else { return nil }
        let time = now()
        // A writer's token works only while its holder is an active writer (an operator's has no holder).
        let holderAllowed = row.userID == nil || (row.userActive && !row.userClaims.isDisjoint(with: [.write, .admin]))
        guard !row.revoked, row.expiresAt > time, holderAllowed else {
            let actor = row.userID.map { "user:\($0)" } ?? "operator-token:\(row.familyID)"
            let why = row.revoked ? "revoked" : row.expiresAt <= time ? "expired" : "holder is no longer an active writer"
            try await auditRefusal(row.familyID, tenantID: row.tenantID, actor: actor, why: why, action: "upload-token.refused", at: time)
            return nil
        }
        return AuthenticatedUploadToken(
            tenantID: row.tenantID, userID: row.userID, familyID: row.familyID, tenantActive: row.tenantActive, keyLocked: row.keyLocked)
    }

    /// Every console of a user stops: disabled, write claim removed, password changed (CON-3).
    func revokeAll(of userID: UUID, tenantID: TenantID, actor: String, reason: String) async throws {
        let families = try await catalog.consoleCredentials.revokeAll(ofUser: userID, at: now())
        guard families > 0 else { return }
        try await catalog.audit.append(
            tenantID: tenantID, actor: actor, action: "console.grants.revoked", subject: "user:\(userID)", detail: "families=\(families) reason=\(reason)",
            at: now())
    }

    /// `assay logout`: the console gives up its own grant family. Answers the same whether or not
    /// the grant was known, so it tells a guesser nothing.
    public func revokeOwn(grant presented: String) async throws {
        guard presented.utf8.count <= 128, let grant = try await catalog.consoleCredentials.grant(tokenHash: SecretToken.hash(presented)) else { return }
        // Audited when it ends a live family: a stale grant sent again changes nothing and writes nothing.
        guard try await catalog.consoleCredentials.revokeFamily(grant.familyID, at: now()) else { return }
        try await catalog.audit.append(
            tenantID: grant.tenantID, actor: "user:\(grant.userID)", action: "console.grant.revoked", subject: "grant-family:\(grant.familyID)",
            detail: "by the console (logout)", at: now())
    }
}
