import FluentKit
import Foundation
import SQLKit

/// A console grant's row (CON-3).
struct ConsoleGrantRecord: Sendable {
    let id: UUID
    let familyID: UUID
    let tenantID: TenantID
    let userID: UUID
    let machine: String
    let expiresAt: Date
    let usedAt: Date?
    let revokedAt: Date?

    init(_ grant: ConsoleGrant) throws {
        id = try grant.requireID()
        familyID = grant.familyID
        tenantID = TenantID(grant.tenantID)
        userID = grant.userID
        machine = grant.machine
        expiresAt = grant.expiresAt
        usedAt = grant.usedAt
        revokedAt = grant.revokedAt
    }
}

/// An upload token looked up by its hash, with its tenant's state read in the same query.
struct UploadTokenRow: Sendable {
    let tenantID: TenantID
    let userID: UUID?
    let familyID: UUID
    let expiresAt: Date
    let revoked: Bool
    let tenantActive: Bool
    let keyLocked: Bool
    /// The holder's state and claims now (an operator's token has no holder).
    let userActive: Bool
    let userClaims: Set<Claim>
}

/// Console grants and upload tokens (CON-3, CON-4): tokens only as hashes.
struct ConsoleCredentialStore: Sendable {
    let database: any Database

    /// A console's sign-in or an operator's token: the family every later grant and token joins.
    func createFamily(_ family: UUID, tenantID: TenantID, userID: UUID?, at time: Date) async throws {
        try await ConsoleGrantFamily(id: family, tenantID: tenantID.uuid, userID: userID, now: time).create(on: database)
    }

    /// Inside the exchange's transaction: true while the family is not revoked. The UPDATE takes
    /// the family's row, so a revocation arriving meanwhile waits for the exchange to commit and
    /// then revokes the successor with the rest (and token authentication reads the family too).
    func holdLiveFamily(_ family: UUID) async throws -> Bool {
        try await database.sql().raw(
            "UPDATE \(ident: ConsoleGrantFamily.schema) SET revoked_at = NULL WHERE id = \(bind: family) AND revoked_at IS NULL RETURNING id"
        ).all().count == 1
    }

    /// Whether a refused credential of the family should be audited now: true for the first
    /// refusal in each `window`, decided by one conditional UPDATE (so a stale token replayed from
    /// a hundred places at once still writes one event).
    func spendRefusalAudit(_ family: UUID, at time: Date, window: TimeInterval) async throws -> Bool {
        try await database.sql().raw(
            """
            UPDATE \(ident: ConsoleGrantFamily.schema) SET refusal_audited_at = \(bind: time)
            WHERE id = \(bind: family) AND (refusal_audited_at IS NULL OR refusal_audited_at <= \(bind: time.addingTimeInterval(-window)))
            RETURNING id
            """
        ).all().count == 1
    }

    func createGrant(
        familyID: UUID, tenantID: TenantID, userID: UUID, tokenHash: String, machine: String, at time: Date, expiresAt: Date
    ) async throws -> ConsoleGrantRecord {
        let grant = ConsoleGrant(
            familyID: familyID, tenantID: tenantID.uuid, userID: userID, tokenHash: tokenHash, machine: machine, now: time,
            expiresAt: expiresAt)
        try await grant.create(on: database)
        return try ConsoleGrantRecord(grant)
    }

    func grant(id: UUID) async throws -> ConsoleGrantRecord? {
        try await ConsoleGrant.find(id, on: database).map(ConsoleGrantRecord.init)
    }

    func grant(tokenHash: String) async throws -> ConsoleGrantRecord? {
        try await ConsoleGrant.query(on: database).filter(\.$tokenHash == tokenHash).first().map(ConsoleGrantRecord.init)
    }

    /// Single use even when two exchanges race: only one UPDATE finds the grant unused.
    func markUsed(grantID: UUID, at time: Date) async throws -> Bool {
        let marked = try await database.sql()
            .raw("UPDATE \(ident: ConsoleGrant.schema) SET used_at = \(bind: time) WHERE id = \(bind: grantID) AND used_at IS NULL RETURNING id").all()
        return marked.count == 1
    }

    /// Every grant and upload token of the family stops working: the family first (what the
    /// exchange and authentication read), then its rows (what administrators see). True when the
    /// family was live until now.
    @discardableResult
    func revokeFamily(_ family: UUID, at time: Date) async throws -> Bool {
        let revoked =
            try await database.sql().raw(
                "UPDATE \(ident: ConsoleGrantFamily.schema) SET revoked_at = \(bind: time) WHERE id = \(bind: family) AND revoked_at IS NULL RETURNING id"
            ).all().count == 1
        try await ConsoleGrant.query(on: database).filter(\.$familyID == family).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        try await UploadToken.query(on: database).filter(\.$familyID == family).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        return revoked
    }

    /// Every console of the user stops working (disabled, claims changed, password changed):
    /// returns how many families were still live.
    @discardableResult
    func revokeAll(ofUser userID: UUID, at time: Date) async throws -> Int {
        let families = try await database.sql().raw(
            "UPDATE \(ident: ConsoleGrantFamily.schema) SET revoked_at = \(bind: time) WHERE user_id = \(bind: userID) AND revoked_at IS NULL RETURNING id"
        ).all()
        try await ConsoleGrant.query(on: database).filter(\.$userID == userID).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        try await UploadToken.query(on: database).filter(\.$userID == userID).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        return families.count
    }

    /// One family of this tenant, revoked; false when the tenant has no such live family.
    func revokeFamily(_ family: UUID, in scope: TenantScope, at time: Date) async throws -> Bool {
        guard try await ConsoleGrantFamily.query(on: database).filter(\.$id == family).filter(\.$tenantID == scope.tenantID.uuid).first() != nil else {
            return false
        }
        return try await revokeFamily(family, at: time)
    }

    /// A console as administrators see it: one grant family, from its sign-in to its latest exchange.
    struct ConsoleFamily: Sendable {
        let familyID: UUID
        let userID: UUID
        let machine: String
        let signedInAt: Date
        let lastRenewedAt: Date
        let expiresAt: Date
    }

    /// The tenant's consoles whose grant still works (not revoked, not expired), newest first.
    func liveFamilies(in scope: TenantScope, at time: Date) async throws -> [ConsoleFamily] {
        let rows = try await database.sql().raw(
            """
            SELECT g.family_id, g.user_id, g.machine, g.expires_at, g.created_at AS last_renewed_at,
                   (SELECT MIN(f.created_at) FROM \(ident: ConsoleGrant.schema) f WHERE f.family_id = g.family_id) AS signed_in_at
            FROM \(ident: ConsoleGrant.schema) g JOIN \(ident: ConsoleGrantFamily.schema) fam ON fam.id = g.family_id
            -- A family's live grant is its newest: unused, unrevoked, unexpired, in a live family.
            WHERE g.tenant_id = \(bind: scope.tenantID.uuid) AND g.revoked_at IS NULL AND g.used_at IS NULL AND g.expires_at > \(bind: time)
                AND fam.revoked_at IS NULL
            ORDER BY g.created_at DESC
            """
        ).all()
        return try rows.map { row in
            ConsoleFamily(
                familyID: try row.decode(column: "family_id", as: UUID.self), userID: try row.decode(column: "user_id", as: UUID.self),
                machine: try row.decode(column: "machine", as: String.self), signedInAt: try row.decode(column: "signed_in_at", as: Date.self),
                lastRenewedAt: try row.decode(column: "last_renewed_at", as: Date.self), expiresAt: try row.decode(column: "expires_at", as: Date.self))
        }
    }

    /// A new upload token of a family, valid until `expiresAt`.
    func createUploadToken(familyID: UUID, tenantID: TenantID, userID: UUID?, tokenHash: String, at time: Date, expiresAt: Date) async throws {
        try await UploadToken(familyID: familyID, tenantID: tenantID.uuid, userID: userID, tokenHash: tokenHash, now: time, expiresAt: expiresAt)
            .create(on: database)
    }

    /// One query on the hot path of every upload (and no model reflection): the token by its hash,
    /// joined with its tenant and its holder.
    func uploadToken(tokenHash: String) async throws -> UploadTokenRow? {
        guard
            let row = try await database.sql().raw(
                """
                SELECT t.tenant_id, t.user_id, t.family_id, t.expires_at, t.revoked_at, n.state, n.key_locked_at,
                       u.state AS user_state, u.claims AS user_claims, f.id AS family_row, f.revoked_at AS family_revoked_at
                FROM \(ident: UploadToken.schema) t JOIN \(ident: Tenant.schema) n ON n.id = t.tenant_id
                    LEFT JOIN \(ident: User.schema) u ON u.id = t.user_id
                    LEFT JOIN \(ident: ConsoleGrantFamily.schema) f ON f.id = t.family_id
                WHERE t.token_hash = \(bind: tokenHash)
                """
            ).first()
        else { return nil }
        return UploadTokenRow(
            tenantID: TenantID(try row.decode(column: "tenant_id", as: UUID.self)), userID: try row.decode(column: "user_id", as: UUID?.self),
            familyID: try row.decode(column: "family_id", as: UUID.self), expiresAt: try row.decode(column: "expires_at", as: Date.self),
            // A token without a family row is treated as revoked: fail closed.
            revoked: try row.decode(column: "revoked_at", as: Date?.self) != nil || row.decode(column: "family_row", as: UUID?.self) == nil
                || row.decode(column: "family_revoked_at", as: Date?.self) != nil,
            tenantActive: try row.decode(column: "state", as: String.self) == Tenant.State.active.rawValue,
            keyLocked: try row.decode(column: "key_locked_at", as: Date?.self) != nil,
            userActive: try row.decode(column: "user_state", as: String?.self) == User.State.active.rawValue,
            userClaims: Claim.decode(try row.decode(column: "user_claims", as: String?.self) ?? ""))
    }
}
