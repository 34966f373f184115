import FluentKit
import Foundation

/// One tenant key pair's row: the secret only wrapped (KEY-1, KEY-3).
public struct TenantKeyRecord: Sendable {
    let id: UUID
    let tenantID: TenantID
    let fingerprint: String
    let bits: Int
    /// Armored, as published to the tenant's writers.
    let publicKey: String
    /// AES-256-GCM (nonce, ciphertext, tag) of the unprotected secret key, base64.
    let wrappedSecret: String
    let kekID: String

    init(_ key: TenantKey) throws {
        id = try key.requireID()
        tenantID = TenantID(key.tenantID)
        fingerprint = key.fingerprint
        bits = key.bits
        publicKey = key.publicKey
        wrappedSecret = key.wrappedSecret
        kekID = key.kekID
    }
}

/// The `tenant_keys` table.
struct TenantKeyStore: Sendable {
    let database: any Database

    /// Stores a new key as the tenant's published one; the keys published before retire.
    func publish(
        tenantID: TenantID, fingerprint: String, bits: Int, publicKey: String, wrappedSecret: String, kekID: String,
        at time: Date
    ) async throws -> TenantKeyRecord {
        let key = TenantKey(
            tenantID: tenantID.uuid, fingerprint: fingerprint, bits: bits, publicKey: publicKey, wrappedSecret: wrappedSecret,
            kekID: kekID, createdAt: time)
        try await database.transaction { transaction in
            try await TenantKey.query(on: transaction).filter(\.$tenantID == tenantID.uuid).filter(\.$state == .active).set(\.$state, to: .retired).update()
            try await key.create(on: transaction)
        }
        return try TenantKeyRecord(key)
    }

    func published(tenantID: TenantID) async throws -> TenantKeyRecord? {
        try await TenantKey.query(on: database).filter(\.$tenantID == tenantID.uuid).filter(\.$state == .active).first().map(TenantKeyRecord.init)
    }

    /// Every tenant's published key.
    func publishedKeys() async throws -> [TenantKeyRecord] {
        try await TenantKey.query(on: database).filter(\.$state == .active).all().map(TenantKeyRecord.init)
    }

    /// Every key of the tenant, newest first (retired ones still open what was sent to them).
    func all(tenantID: TenantID) async throws -> [TenantKeyRecord] {
        try await TenantKey.query(on: database).filter(\.$tenantID == tenantID.uuid).sort(\.$createdAt, .descending).all().map(TenantKeyRecord.init)
    }

    func wrapped(underKEK kekID: String) async throws -> [TenantKeyRecord] {
        try await TenantKey.query(on: database).filter(\.$kekID == kekID).all().map(TenantKeyRecord.init)
    }

    func rewrap(keyID: UUID, wrappedSecret: String, kekID: String) async throws {
        try await TenantKey.query(on: database).filter(\.$id == keyID).set(\.$wrappedSecret, to: wrappedSecret).set(\.$kekID, to: kekID).update()
    }
}
