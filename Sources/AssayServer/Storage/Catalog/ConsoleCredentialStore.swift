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

    /// Every grant and upload token of the family stops working.
    func revokeFamily(_ family: UUID, at time: Date) async throws {
        try await ConsoleGrant.query(on: database).filter(\.$familyID == family).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        try await UploadToken.query(on: database).filter(\.$familyID == family).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
    }

    /// Every console of the user stops working (disabled, claims changed, password changed):
    /// returns how many families were still live.
    @discardableResult
    func revokeAll(ofUser userID: UUID, at time: Date) async throws -> Int {
        let families = try await ConsoleGrant.query(on: database).filter(\.$userID == userID).filter(\.$revokedAt == nil).all().map(\.familyID)
        try await ConsoleGrant.query(on: database).filter(\.$userID == userID).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        try await UploadToken.query(on: database).filter(\.$userID == userID).filter(\.$revokedAt == nil).set(\.$revokedAt, to: time).update()
        return Set(families).count
    }

    /// One family of this tenant, revoked; false when the tenant has no such live family.
    func revokeFamily(_ family: UUID, in tenant: TenantID, at time: Date) async throws -> Bool {
        let live = try await ConsoleGrant.query(on: database).filter(\.$familyID == family).filter(\.$tenantID == tenant.uuid)
            .filter(\.$revokedAt == nil).count()
        guard live > 0 else { return false }
        try await revokeFamily(family, at: time)
        return true
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
    func liveFamilies(in tenant: TenantID, at time: Date) async throws -> [ConsoleFamily] {
        let rows = try await database.sql().raw(
            """
            SELECT g.family_id, g.user_id, g.machine, g.expires_at, g.created_at AS last_renewed_at,
                   (SELECT MIN(f.created_at) FROM \(ident: ConsoleGrant.schema) f WHERE f.family_id = g.family_id) AS signed_in_at
            FROM \(ident: ConsoleGrant.schema) g
            -- A family's live grant is its newest: unused, unrevoked, unexpired.
            WHERE g.tenant_id = \(bind: tenant.uuid) AND g.revoked_at IS NULL AND g.used_at IS NULL AND g.expires_at > \(bind: time)
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
                       u.state AS user_state, u.claims AS user_claims
                FROM \(ident: UploadToken.schema) t JOIN \(ident: Tenant.schema) n ON n.id = t.tenant_id
                    LEFT JOIN \(ident: User.schema) u ON u.id = t.user_id
                WHERE t.token_hash = \(bind: tokenHash)
                """
            ).first()
        else { return nil }
        return UploadTokenRow(
            tenantID: TenantID(try row.decode(column: "tenant_id", as: UUID.self)), userID: try row.decode(column: "user_id", as: UUID?.self),
            familyID: try row.decode(column: "family_id", as: UUID.self), expiresAt: try row.decode(column: "expires_at", as: Date.self),
            revoked: try row.decode(column: "revoked_at", as: Date?.self) != nil,
            tenantActive: try row.decode(column: "state", as: String.self) == Tenant.State.active.rawValue,
            keyLocked: try row.decode(column: "key_locked_at", as: Date?.self) != nil,
            userActive: try row.decode(column: "user_state", as: String?.self) == User.State.active.rawValue,
            userClaims: Claim.decode(try row.decode(column: "user_claims", as: String?.self) ?? ""))
    }
}
