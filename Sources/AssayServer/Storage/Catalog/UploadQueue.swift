import FluentKit
import Foundation
import SQLKit

/// An upload a worker has claimed: what it needs to process it, and nothing else.
struct ClaimedUpload: Sendable {
    let id: UUID
    let tenantID: TenantID
    let spoolKey: String
    let attempts: Int
    let createdAt: Date

    /// Made only by `UploadQueue.claim`, below: a claimed upload's tenant is a scope (issue 17, 15).
    fileprivate init(id: UUID, tenantID: TenantID, spoolKey: String, attempts: Int, createdAt: Date) {
        self.id = id
        self.tenantID = tenantID
        self.spoolKey = spoolKey
        self.attempts = attempts
        self.createdAt = createdAt
    }
}

/// What an uploader or the portal may know of an upload.
public struct UploadSummary: Sendable, Equatable {
    let id: UUID
    let userID: UUID?
    let size: Int64
    let state: String
    let failure: String?
    let kind: String?
    let deviceID: String?
    let createdAt: Date
}

/// The upload queue in the catalog (ING-1): one row per acknowledged upload, claimed by the ingest
/// workers of any replica. Every state change is one statement.
struct UploadQueue: Sendable {
    let database: any Database

    /// One acknowledged upload to queue.
    struct Entry: Sendable {
        let id: UUID
        let tenantID: TenantID
        let userID: UUID?
        let sha256: String
        let size: Int64
        let spoolKey: String
    }

    /// Queues a group in one statement; returns the ids that were new. A body seen before (in an
    /// earlier group, or twice in this one) keeps its first row.
    func enqueue(_ entries: [Entry], at time: Date) async throws -> Set<UUID> {
        let insert = try database.sql().insert(into: Upload.schema)
            .columns("id", "tenant_id", "user_id", "sha256", "size", "spool_key", "state", "attempts", "next_attempt_at", "created_at", "updated_at")
        for entry in entries {
            insert.values(
                SQLBind(entry.id), SQLBind(entry.tenantID.uuid), SQLBind(entry.userID), SQLBind(entry.sha256), SQLBind(entry.size),
                SQLBind(entry.spoolKey), SQLBind(Upload.State.queued.rawValue), SQLBind(0), SQLBind(time), SQLBind(time), SQLBind(time))
        }
        return Set(try await insert.ignoringConflicts(with: ["tenant_id", "sha256"]).returning("id").all(decodingColumn: "id", as: UUID.self))
    }

    /// The upload of this tenant with this body, if any.
    func find(in scope: TenantScope, sha256: String) async throws -> UploadSummary? {
        try await summaries(try database.sql().select().where("tenant_id", .equal, SQLBind(scope.tenantID.uuid)).where("sha256", .equal, SQLBind(sha256))).first
    }

    /// One upload of this tenant: another tenant's is as absent as one that does not exist.
    func find(id: UUID, in scope: TenantScope) async throws -> UploadSummary? {
        try await summaries(try database.sql().select().where("id", .equal, SQLBind(id)).where("tenant_id", .equal, SQLBind(scope.tenantID.uuid))).first
    }

    func find(id: UUID) async throws -> UploadSummary? {
        try await summaries(try database.sql().select().where("id", .equal, SQLBind(id))).first
    }

    /// The tenant's newest uploads first.
    func recent(in scope: TenantScope, limit: Int) async throws -> [UploadSummary] {
        try await summaries(
            try database.sql().select().where("tenant_id", .equal, SQLBind(scope.tenantID.uuid)).orderBy("created_at", .descending).limit(limit))
    }

    private func summaries(_ select: SQLSelectBuilder) async throws -> [UploadSummary] {
        try await select.columns("id", "user_id", "size", "state", "failure", "kind", "device_id", "created_at").from(Upload.schema).all().map { row in
            UploadSummary(
                id: try row.decode(column: "id", as: UUID.self), userID: try row.decode(column: "user_id", as: UUID?.self),
                size: try row.decode(column: "size", as: Int64.self), state: try row.decode(column: "state", as: String.self),
                failure: try row.decode(column: "failure", as: String?.self), kind: try row.decode(column: "kind", as: String?.self),
                deviceID: try row.decode(column: "device_id", as: String?.self), createdAt: try row.decode(column: "created_at", as: Date.self))
        }
    }

    /// How many of these uploads of this tenant are being processed (the key unwrap's pattern check).
    func countProcessing(_ ids: [UUID], tenantID: TenantID) async throws -> Int {
        try await Upload.query(on: database).filter(\.$id ~~ ids).filter(\.$tenantID == tenantID.uuid).filter(\.$state == .processing).count()
    }

    /// Claims up to `limit` due uploads for `worker` in one statement (FOR UPDATE SKIP LOCKED on
    /// PostgreSQL); claims that expired (their worker died) are taken first.
    func claim(worker: String, limit: Int, until: Date, at time: Date) async throws -> [ClaimedUpload] {
        let sql = try database.sql()
        let lock = sql.isPostgreSQL ? SQLRaw(" FOR UPDATE SKIP LOCKED") : SQLRaw("")
        // Due uploads in the order of the (state, next_attempt_at) index, so that a claim reads
        // only the rows it takes however long the queue is.
        let due: SQLQueryString = """
            SELECT id FROM (SELECT id FROM \(ident: Upload.schema) WHERE state = 'processing' AND claimed_until < \(bind: time)
                            LIMIT \(bind: limit)\(lock)) AS expired
            UNION ALL
            SELECT id FROM (SELECT id FROM \(ident: Upload.schema) WHERE state = 'queued' AND next_attempt_at <= \(bind: time)
                              AND tenant_id NOT IN (SELECT id FROM \(ident: Tenant.schema) WHERE key_locked_at IS NOT NULL)
                            ORDER BY next_attempt_at LIMIT \(bind: limit)\(lock)) AS queued
            """
        let rows = try await sql.raw(
            """
            UPDATE \(ident: Upload.schema) SET state = 'processing', claimed_by = \(bind: worker), claimed_until = \(bind: until),
                updated_at = \(bind: time)
            WHERE id IN (SELECT id FROM (\(due)) AS due LIMIT \(bind: limit))
              AND ((state = 'queued' AND next_attempt_at <= \(bind: time)) OR (state = 'processing' AND claimed_until < \(bind: time)))
            RETURNING id, tenant_id, spool_key, attempts, created_at
            """
        ).all()
        return try rows.map { row in
            ClaimedUpload(
                id: try row.decode(column: "id", as: UUID.self), tenantID: TenantID(try row.decode(column: "tenant_id", as: UUID.self)),
                spoolKey: try row.decode(column: "spool_key", as: String.self), attempts: try row.decode(column: "attempts", as: Int.self),
                createdAt: try row.decode(column: "created_at", as: Date.self))
        }
    }

    /// Marks a batch done in one statement: each upload's kind and device picked by its id.
    func finishDone(_ landed: [(id: UUID, kind: String, deviceID: String)], at time: Date) async throws {
        guard !landed.isEmpty else { return }
        var kinds = SQLQueryString("CASE id")
        var devices = SQLQueryString("CASE id")
        var ids: [SQLBind] = []
        for upload in landed {
            let id = SQLBind(upload.id)
            ids.append(id)
            kinds.appendLiteral(" WHEN ")
            kinds.appendInterpolation(id)
            kinds.appendLiteral(" THEN ")
            kinds.appendInterpolation(bind: upload.kind)
            devices.appendLiteral(" WHEN ")
            devices.appendInterpolation(id)
            devices.appendLiteral(" THEN ")
            devices.appendInterpolation(bind: upload.deviceID)
        }
        kinds.appendLiteral(" END")
        devices.appendLiteral(" END")
        try await database.sql().raw(
            """
            UPDATE \(ident: Upload.schema) SET state = \(bind: Upload.State.done.rawValue), failure = NULL, kind = \(kinds), device_id = \(devices),
                claimed_by = NULL, claimed_until = NULL, updated_at = \(bind: time)
            WHERE id IN \(SQLGroupExpression(ids))
            """
        ).run()
    }

    /// Done (with what it was) or failed (with why), and no longer claimed.
    func finish(_ id: UUID, done: Bool, failure: String?, kind: String?, deviceID: String?, at time: Date) async throws {
        try await database.sql().update(Upload.schema)
            .set("state", to: SQLBind((done ? Upload.State.done : .failed).rawValue)).set("failure", to: SQLBind(failure))
            .set("kind", to: SQLBind(kind)).set("device_id", to: SQLBind(deviceID))
            .set("claimed_by", to: SQLBind(String?.none)).set("claimed_until", to: SQLBind(Date?.none)).set("updated_at", to: SQLBind(time))
            .where("id", .equal, SQLBind(id))
            .run()
    }

    /// Back to the queue, due at `due`, with `attempts` counted.
    func requeue(_ id: UUID, attempts: Int, due: Date, at time: Date) async throws {
        try await Upload.query(on: database).filter(\.$id == id)
            .set(\.$state, to: .queued).set(\.$claimedBy, to: nil).set(\.$claimedUntil, to: nil)
            .set(\.$attempts, to: attempts).set(\.$nextAttemptAt, to: due).set(\.$updatedAt, to: time)
            .update()
    }

    /// Failed uploads last changed before `time`: their bodies and rows may go (SEC-5, LIF-1).
    func failed(before time: Date, limit: Int) async throws -> [(id: UUID, spoolKey: String)] {
        try await Upload.query(on: database).filter(\.$state == .failed).filter(\.$updatedAt < time).limit(limit).all().compactMap { upload in
            upload.id.map { ($0, upload.spoolKey) }
        }
    }

    func remove(_ ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await Upload.query(on: database).filter(\.$id ~~ ids).delete()
    }

    /// Who holds each upload being processed (id → worker name).
    func claimHolders() async throws -> [(id: UUID, worker: String)] {
        try await Upload.query(on: database).filter(\.$state == .processing).all().compactMap { upload in
            guard let owner = upload.claimedBy, let id = upload.id else { return nil }
            return (id, owner)
        }
    }

    /// Gives a claim back (its holder is gone), if that worker still holds it.
    func release(_ id: UUID, heldBy worker: String) async throws {
        try await Upload.query(on: database).filter(\.$id == id).filter(\.$claimedBy == worker)
            .set(\.$state, to: .queued).set(\.$claimedBy, to: nil).set(\.$claimedUntil, to: nil).update()
    }
}
