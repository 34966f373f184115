import FluentKit
import Foundation

/// A tenant as the domain sees it (ING-2, KEY-4, LIF-1).
public struct TenantRecord: Sendable {
    let id: TenantID
    let name: String
    let region: String
    let isActive: Bool
    let keyLockedAt: Date?
    let keyLockReason: String?

    init(_ tenant: Tenant) throws {
        id = TenantID(try tenant.requireID())
        name = tenant.name
        region = tenant.region
        isActive = tenant.state == .active
        keyLockedAt = tenant.keyLockedAt
        keyLockReason = tenant.keyLockReason
    }
}

/// The `tenants` table: which tenants exist, where they live, whether their key is locked.
struct TenantRegistry: Sendable {
    let database: any Database

    func create(name: String, region: String) async throws -> TenantRecord {
        let tenant = Tenant(name: name, region: region)
        try await tenant.create(on: database)
        return try TenantRecord(tenant)
    }

    func find(_ id: TenantID) async throws -> TenantRecord? {
        try await Tenant.find(id.uuid, on: database).map(TenantRecord.init)
    }

    /// The oldest tenant, if any (the first run's).
    func first() async throws -> TenantRecord? {
        try await Tenant.query(on: database).sort(\.$createdAt).first().map(TenantRecord.init)
    }

    /// KEY-4: ingestion of this tenant stops until an operator unlocks.
    func lockKey(_ id: TenantID, reason: String, at time: Date) async throws {
        try await Tenant.query(on: database).filter(\.$id == id.uuid).set(\.$keyLockedAt, to: time).set(\.$keyLockReason, to: reason).update()
    }

    func unlockKey(_ id: TenantID) async throws {
        try await Tenant.query(on: database).filter(\.$id == id.uuid).set(\.$keyLockedAt, to: nil).set(\.$keyLockReason, to: nil).update()
    }
}
