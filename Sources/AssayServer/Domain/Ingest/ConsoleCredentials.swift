import Fluent
import Foundation
import SQLKit

/// Console grants and upload tokens (CON-3, CON-4). A grant lives 90 days and is exchanged for a
/// fresh grant and upload token; each grant works once, and presenting a used one revokes its whole
/// family (someone holds a copy). Upload tokens live 12 hours and open only the upload endpoints.
public struct ConsoleCredentials: Sendable {
    let database: any Database
    let now: @Sendable () -> Date

    public init(database: any Database, now: @escaping @Sendable () -> Date = Date.init) {
        self.database = database
        self.now = now
    }

    public struct Issued: Sendable, Equatable {
        public let grant: String
        public let grantExpiresAt: Date
        public let uploadToken: String
        public let uploadTokenExpiresAt: Date
        public let tenantID: UUID
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

    /// After a console sign-in: the upload token that goes with the new grant.
    public func issueUploadToken(grantID: UUID) async throws -> (token: String, expiresAt: Date) {
        guard let grant = try await ConsoleGrant.find(grantID, on: database) else { throw Refusal.unknown }
        let token = SecretToken(prefix: "asu_")
        let upload = UploadToken(familyID: grant.familyID, tenantID: grant.tenantID, userID: grant.userID, tokenHash: token.hash, now: now())
        try await upload.create(on: database)
        return (token.value, upload.expiresAt)
    }

    /// An operator's upload token (first run, migrations): no user, a chosen lifetime, audited.
    public func issueOperatorUploadToken(tenantID: UUID, hours: Int) async throws -> String {
        let token = SecretToken(prefix: "asu_")
        let upload = UploadToken(familyID: UUID(), tenantID: tenantID, userID: nil, tokenHash: token.hash, now: now(), lifetime: TimeInterval(hours) * 3600)
        try await upload.create(on: database)
        try await AuditLog(database: database).append(tenantID: tenantID, actor: "operator", action: "upload-token.issued",
                                                      subject: "tenant:\(tenantID)", detail: "hours=\(hours) family=\(upload.familyID)")
        return token.value
    }

    /// Exchanges a grant for a new grant and upload token.
    public func exchange(grant presented: String, machine: String) async throws -> Issued {
        let time = now()
        let audit = AuditLog(database: database)
        guard presented.utf8.count <= 128, let grant = try await ConsoleGrant.query(on: database).filter(\.$tokenHash == SecretToken.hash(presented)).first() else {
            throw Refusal.unknown
        }
        if grant.usedAt != nil {
            try await revokeFamily(grant.familyID, at: time)
            try await audit.append(tenantID: grant.tenantID, actor: "user:\(grant.userID)", action: "security.console-grant-reused",
                                   subject: "grant-family:\(grant.familyID)", detail: "every grant and upload token of the family revoked", at: time)
            throw Refusal.reused
        }
        guard grant.revokedAt == nil else {
            try await audit.append(tenantID: grant.tenantID, actor: "user:\(grant.userID)", action: "console.grant.refused",
                                   subject: "grant-family:\(grant.familyID)", detail: "revoked", at: time)
            throw Refusal.revoked
        }
        guard grant.expiresAt > time else {
            try await audit.append(tenantID: grant.tenantID, actor: "user:\(grant.userID)", action: "console.grant.refused",
                                   subject: "grant-family:\(grant.familyID)", detail: "expired", at: time)
            throw Refusal.expired
        }
        guard let user = try await User.find(grant.userID, on: database), user.state == .active,
              !Claim.decode(user.claims).isDisjoint(with: [.write, .admin]) else {
            try await revokeFamily(grant.familyID, at: time)
            throw Refusal.revoked
        }
        // Single use even when two exchanges race: only one UPDATE finds the grant unused.
        let marked = try await (database as! any SQLDatabase)
            .raw("UPDATE \(ident: ConsoleGrant.schema) SET used_at = \(bind: time) WHERE id = \(bind: try grant.requireID()) AND used_at IS NULL RETURNING id").all()
        guard marked.count == 1 else {
            try await revokeFamily(grant.familyID, at: time)
            throw Refusal.reused
        }
        let token = SecretToken(prefix: "asg_")
        let next = ConsoleGrant(familyID: grant.familyID, tenantID: grant.tenantID, userID: grant.userID, tokenHash: token.hash,
                                machine: machine.isEmpty ? grant.machine : machine, now: time)
        try await next.create(on: database)
        let upload = try await issueUploadToken(grantID: try next.requireID())
        try await audit.append(tenantID: grant.tenantID, actor: "user:\(grant.userID)", action: "console.grant.exchanged",
                               subject: "grant-family:\(grant.familyID)", at: time)
        return Issued(grant: token.value, grantExpiresAt: next.expiresAt, uploadToken: upload.token, uploadTokenExpiresAt: upload.expiresAt,
                      tenantID: grant.tenantID)
    }

    func revokeFamily(_ family: UUID, at time: Date) async throws {
        try await ConsoleGrant.query(on: database).filter(\.$familyID == family).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        try await UploadToken.query(on: database).filter(\.$familyID == family).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
    }

    /// The principal behind an upload token, or why not.
    /// An upload token that checked out, with its tenant's state read in the same query.
    public struct AuthenticatedUploadToken: Sendable {
        public let tenantID: UUID
        public let userID: UUID?
        public let familyID: UUID
        public let tenantActive: Bool
        public let keyLocked: Bool
    }

    /// One query on the hot path of every upload (and no model reflection): the token by its hash,
    /// joined with its tenant.
    public func authenticate(uploadToken presented: String) async throws -> AuthenticatedUploadToken? {
        guard presented.hasPrefix("asu_"), presented.utf8.count <= 128, let sql = database as? any SQLDatabase else { return nil }
        guard let row = try await sql.raw("""
            SELECT t.tenant_id, t.user_id, t.family_id, t.expires_at, t.revoked_at, n.state, n.key_locked_at
            FROM \(ident: UploadToken.schema) t JOIN \(ident: Tenant.schema) n ON n.id = t.tenant_id
            WHERE t.token_hash = \(bind: SecretToken.hash(presented))
            """).first() else { return nil }
        let token = AuthenticatedUploadToken(
            tenantID: try row.decode(column: "tenant_id", as: UUID.self), userID: try row.decode(column: "user_id", as: UUID?.self),
            familyID: try row.decode(column: "family_id", as: UUID.self), tenantActive: try row.decode(column: "state", as: String.self) == Tenant.State.active.rawValue,
            keyLocked: try row.decode(column: "key_locked_at", as: Date?.self) != nil)
        let revoked = try row.decode(column: "revoked_at", as: Date?.self) != nil
        let time = now()
        guard !revoked, try row.decode(column: "expires_at", as: Date.self) > time else {
            let actor = token.userID.map { "user:\($0)" } ?? "operator-token:\(token.familyID)"
            try await AuditLog(database: database).append(tenantID: token.tenantID, actor: actor, action: "upload-token.refused",
                                                          subject: "grant-family:\(token.familyID)",
                                                          detail: revoked ? "revoked" : "expired", at: time)
            return nil
        }
        return token
    }
}
