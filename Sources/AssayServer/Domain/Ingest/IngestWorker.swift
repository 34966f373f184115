import Fluent
import Foundation
import Logging
import OpenPGP
import SQLKit

/// Takes acknowledged uploads from the catalog queue and writes them to their tenant's database
/// (ING-1). Any number of workers in any number of replicas share the queue: a claim is one
/// UPDATE … RETURNING (with FOR UPDATE SKIP LOCKED on PostgreSQL), and an expired claim is taken
/// over. A crash anywhere leaves the upload to be claimed again; the tenant database's
/// `ingested_uploads` row, written in the same transaction as the data, makes the retry a no-op.
public struct IngestWorker: Sendable {
    let name: String
    let catalog: any Database
    let keyring: TenantKeyring
    let tenants: TenantDatabases
    let spool: any SpoolStore
    let cache: AggregateCache
    let limits: DecryptionLimits
    let logger: Logger
    let now: @Sendable () -> Date

    static let claimSeconds: TimeInterval = 300
    static let batchSize = 32
    static let maxAttempts = 10

    init(name: String, catalog: any Database, keyring: TenantKeyring, tenants: TenantDatabases, spool: any SpoolStore, cache: AggregateCache,
         maxUploadBytes: Int, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.name = name
        self.catalog = catalog
        self.keyring = keyring
        self.tenants = tenants
        self.spool = spool
        self.cache = cache
        var limits = DecryptionLimits()
        limits.maxMessageBytes = maxUploadBytes
        limits.maxPlaintextBytes = 64 << 20
        limits.maxRecipients = 8
        self.limits = limits
        self.logger = logger
        self.now = now
    }

    /// A replica that restarts after a crash gives back what its dead processes on this host had
    /// claimed, instead of waiting for the claims to expire.
    static func releaseClaimsOfDeadProcesses(host: String, catalog: any Database, logger: Logger) async throws {
        let claimed = try await Upload.query(on: catalog).filter(\.$state == .processing).all()
        var released = 0
        for upload in claimed {
            guard let owner = upload.claimedBy, owner.hasPrefix(host + "-") else { continue }
            let parts = owner.dropFirst(host.count + 1).split(separator: "-")
            guard let pid = parts.first.flatMap({ Int32($0) }), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try await Upload.query(on: catalog).filter(\.$id == upload.requireID()).filter(\.$claimedBy == owner)
                .set(\.$state, to: .queued).set(\.$claimedBy, to: nil).set(\.$claimedUntil, to: nil).update()
            released += 1
        }
        if released > 0 { logger.notice("released uploads claimed by ended processes", metadata: ["count": .stringConvertible(released)]) }
    }

    /// Runs until cancelled; sleeps briefly when the queue is empty.
    public func run() async {
        while !Task.isCancelled {
            let worked: Int
            do { worked = try await runOnce() } catch {
                logger.warning("ingest worker: the catalog does not answer; retrying", metadata: ["worker": .string(name)])
                worked = 0
            }
            if worked == 0 { try? await Task.sleep(nanoseconds: 200_000_000) }
        }
    }

    /// Claims one batch and processes it; returns how many uploads it claimed.
    @discardableResult
    public func runOnce() async throws -> Int {
        let batch = try await claim()
        guard !batch.isEmpty else { return 0 }
        for (tenantID, uploads) in Dictionary(grouping: batch, by: \.tenantID) {
            await process(tenantID: tenantID, uploads: uploads)
        }
        return batch.count
    }

    func claim() async throws -> [Upload] {
        guard let sql = catalog as? any SQLDatabase else { return [] }
        let time = now()
        let lock = sql.isPostgreSQL ? SQLRaw(" FOR UPDATE SKIP LOCKED") : SQLRaw("")
        // Due uploads in the order of the (state, next_attempt_at) index, so that a claim reads
        // only the rows it takes however long the queue is; claims that expired (their worker
        // died) are taken first.
        let due: SQLQueryString = """
            SELECT id FROM (SELECT id FROM \(ident: Upload.schema) WHERE state = 'processing' AND claimed_until < \(bind: time)
                            LIMIT \(bind: Self.batchSize)\(lock)) AS expired
            UNION ALL
            SELECT id FROM (SELECT id FROM \(ident: Upload.schema) WHERE state = 'queued' AND next_attempt_at <= \(bind: time)
                              AND tenant_id NOT IN (SELECT id FROM \(ident: Tenant.schema) WHERE key_locked_at IS NOT NULL)
                            ORDER BY next_attempt_at LIMIT \(bind: Self.batchSize)\(lock)) AS queued
            """
        let rows = try await sql.raw("""
            UPDATE \(ident: Upload.schema) SET state = 'processing', claimed_by = \(bind: name), claimed_until = \(bind: time.addingTimeInterval(Self.claimSeconds)),
                updated_at = \(bind: time)
            WHERE id IN (SELECT id FROM (\(due)) AS due LIMIT \(bind: Self.batchSize))
              AND ((state = 'queued' AND next_attempt_at <= \(bind: time)) OR (state = 'processing' AND claimed_until < \(bind: time)))
            RETURNING id, tenant_id, spool_key, attempts, created_at
            """).all()
        // Built from the returned columns: loading the models again would cost a query and reflection.
        return try rows.map { row in
            let upload = Upload(id: try row.decode(column: "id", as: UUID.self), tenantID: try row.decode(column: "tenant_id", as: UUID.self), userID: nil,
                                sha256: "", size: 0, spoolKey: try row.decode(column: "spool_key", as: String.self), now: try row.decode(column: "created_at", as: Date.self))
            upload.attempts = try row.decode(column: "attempts", as: Int.self)
            upload.state = .processing
            return upload
        }
    }

    func process(tenantID: UUID, uploads: [Upload]) async {
        let ids = uploads.compactMap(\.id)
        let secrets: [SecretKey]
        do {
            secrets = try await keyring.unwrap(tenantID: tenantID, purpose: .ingest(uploadIDs: ids), worker: name)
        } catch let failure as TenantKeyring.Failure {
            // A locked key stops this tenant only: its uploads wait, unharmed, for the operator.
            logger.warning("ingest paused for a tenant", metadata: ["tenant": .string(tenantID.uuidString), "reason": .string(failure.description)])
            for upload in uploads { await retry(upload, after: 60, reason: "waiting: \(failure.description)", countAttempt: false) }
            return
        } catch {
            for upload in uploads { await retry(upload, reason: "the key could not be read") }
            return
        }
        let tenantDatabase: any Database
        do {
            tenantDatabase = try await tenants.database(for: TenantScope.forClaimedUpload(uploads[0]), catalog: catalog)
        } catch {
            logger.warning("ingest: the tenant database does not answer", metadata: ["tenant": .string(tenantID.uuidString)])
            for upload in uploads { await retry(upload, reason: "the tenant database does not answer") }
            return
        }
        // Decrypt and decode outside the lock, so that workers use every core for the CPU-heavy half,
        // on threads of lower priority than the acknowledgements.
        var prepared: [(Upload, IngestWriter.Prepared)] = []
        for upload in uploads {
            guard let id = upload.id else { continue }
            do {
                let (spool, limits, createdAt) = (spool, limits, upload.createdAt)
                let document = try await BackgroundCPU.shared.run {
                    let opened = try MessageDecryptor.decrypt(try spool.get(upload.spoolKey), with: secrets, limits: limits)
                    return try IngestWriter.prepare(opened.data, uploadID: id, receivedAt: createdAt)
                }
                prepared.append((upload, document))
            } catch let error as OpenPGPError {
                await fail(upload, reason: "cannot be opened with the tenant's key: \(error)")
            } catch let rejection as IngestWriter.Rejection {
                await fail(upload, reason: rejection.description)
            } catch let missing as LocalSpool.Failure {
                await fail(upload, reason: missing.description)
            } catch {
                await retry(upload, reason: "storage is not answering")
            }
        }
        guard !prepared.isEmpty else { return }
        // One writer per tenant database in this process: SQLite refuses a second writer that
        // read first (SQLITE_BUSY without waiting), and PostgreSQL loses nothing by it. The batch is
        // one transaction: one commit for all its documents.
        await TenantWriteLocks.shared.lock(tenantID)
        var outcomes: [IngestWriter.Outcome] = []
        var writeError: (any Error)?
        do {
            outcomes = try await IngestWriter.ingest(prepared.map(\.1), into: tenantDatabase)
        } catch {
            writeError = error
        }
        await TenantWriteLocks.shared.unlock(tenantID)
        if let writeError {
            if let rejection = writeError as? IngestWriter.Rejection, prepared.count == 1 {
                await fail(prepared[0].0, reason: rejection.description)
            } else if writeError is IngestWriter.Rejection {
                // One document broke a rule only visible while writing: write them one by one.
                for (upload, document) in prepared {
                    do {
                        let outcome = try await IngestWriter.ingest([document], into: tenantDatabase)[0]
                        try await finish(upload, state: .done, failure: nil, kind: outcome.kind.rawValue, deviceID: outcome.deviceID)
                    } catch let rejection as IngestWriter.Rejection {
                        await fail(upload, reason: rejection.description)
                    } catch {
                        await retry(upload, reason: "the tenant database does not answer")
                    }
                }
                await cache.invalidate(tenantID)
            } else {
                logger.warning("ingest: a tenant database write failed; the batch will be retried", metadata: ["tenant": .string(tenantID.uuidString)])
                for (upload, _) in prepared { await retry(upload, reason: "the tenant database does not answer") }
            }
            return
        }
        // One catalog commit for the batch. Should it fail, the uploads are claimed again later and
        // the tenant database's ingested_uploads rows make that a no-op.
        try? await finishDone(Array(zip(prepared.map(\.0), outcomes)))
        await cache.invalidate(tenantID)
    }

    /// Marks a batch done in one statement: each upload's kind and device picked by its id.
    func finishDone(_ landed: [(Upload, IngestWriter.Outcome)]) async throws {
        guard let sql = catalog as? any SQLDatabase, !landed.isEmpty else { return }
        var kinds = SQLQueryString("CASE id")
        var devices = SQLQueryString("CASE id")
        var ids: [SQLBind] = []
        for (upload, outcome) in landed {
            let id = SQLBind(try upload.requireID())
            ids.append(id)
            kinds.appendLiteral(" WHEN "); kinds.appendInterpolation(id); kinds.appendLiteral(" THEN "); kinds.appendInterpolation(bind: outcome.kind.rawValue)
            devices.appendLiteral(" WHEN "); devices.appendInterpolation(id); devices.appendLiteral(" THEN "); devices.appendInterpolation(bind: outcome.deviceID)
        }
        kinds.appendLiteral(" END")
        devices.appendLiteral(" END")
        try await sql.raw("""
            UPDATE \(ident: Upload.schema) SET state = \(bind: Upload.State.done.rawValue), failure = NULL, kind = \(kinds), device_id = \(devices),
                claimed_by = NULL, claimed_until = NULL, updated_at = \(bind: now())
            WHERE id IN \(SQLGroupExpression(ids))
            """).run()
    }

    func finish(_ upload: Upload, state: Upload.State, failure: String?, kind: String?, deviceID: String?) async throws {
        guard let sql = catalog as? any SQLDatabase else { return }
        try await sql.update(Upload.schema)
            .set("state", to: SQLBind(state.rawValue)).set("failure", to: SQLBind(failure)).set("kind", to: SQLBind(kind)).set("device_id", to: SQLBind(deviceID))
            .set("claimed_by", to: SQLBind(String?.none)).set("claimed_until", to: SQLBind(Date?.none)).set("updated_at", to: SQLBind(now()))
            .where("id", .equal, SQLBind(try upload.requireID()))
            .run()
    }

    /// Permanent: the reason is kept, and so is the encrypted blob in the spool.
    func fail(_ upload: Upload, reason: String) async {
        logger.notice("upload failed", metadata: ["upload": .string(upload.id?.uuidString ?? ""), "reason": .string(reason)])
        try? await finish(upload, state: .failed, failure: String(reason.prefix(500)), kind: nil, deviceID: nil)
    }

    /// Transient: back to the queue with exponential back-off, until `maxAttempts`.
    func retry(_ upload: Upload, after delay: TimeInterval? = nil, reason: String, countAttempt: Bool = true) async {
        guard let id = upload.id else { return }
        if countAttempt, upload.attempts >= Self.maxAttempts {
            await fail(upload, reason: "gave up after \(upload.attempts) attempts: \(reason)")
            return
        }
        let wait = delay ?? min(300, pow(2, Double(upload.attempts)))
        // Only failures count as attempts: a crash while an upload was claimed costs it nothing.
        try? await Upload.query(on: catalog).filter(\.$id == id)
            .set(\.$state, to: .queued).set(\.$claimedBy, to: nil).set(\.$claimedUntil, to: nil)
            .set(\.$attempts, to: upload.attempts + (countAttempt ? 1 : 0))
            .set(\.$nextAttemptAt, to: now().addingTimeInterval(wait)).set(\.$updatedAt, to: now())
            .update()
    }
}

/// Per-tenant mutual exclusion for the writes of one process (see `IngestWorker.process`).
actor TenantWriteLocks {
    static let shared = TenantWriteLocks()
    private var held: Set<UUID> = []
    private var waiting: [UUID: [CheckedContinuation<Void, Never>]] = [:]

    func lock(_ tenant: UUID) async {
        if !held.contains(tenant) {
            held.insert(tenant)
            return
        }
        await withCheckedContinuation { waiting[tenant, default: []].append($0) }
    }

    func unlock(_ tenant: UUID) {
        if var queue = waiting[tenant], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[tenant] = queue.isEmpty ? nil : queue
            next.resume()  // the lock passes straight to the next waiter
        } else {
            held.remove(tenant)
        }
    }
}
