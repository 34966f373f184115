import AssayModel
import Foundation
import Logging
import OpenPGP

/// Takes acknowledged uploads from the catalog queue and writes them to their tenant's database
/// (ING-1). Any number of workers in any number of replicas share the queue: a claim is one
/// UPDATE … RETURNING (with FOR UPDATE SKIP LOCKED on PostgreSQL), and an expired claim is taken
/// over. A crash anywhere leaves the upload to be claimed again; the tenant database's
/// `ingested_uploads` row, written in the same transaction as the data, makes the retry a no-op.
public struct IngestWorker: Sendable {
    let name: String
    let catalog: Catalog
    let keyring: TenantKeyring
    let tenants: TenantDatabases
    let spool: any SpoolStore
    let cache: AggregateCache
    let limits: DecryptionLimits
    let logger: Logger
    let now: @Sendable () -> Date

    static let claimSeconds: TimeInterval = 300
    static let batchSize = 32
    /// A batch is bounded by what it holds in memory as well as by its count (SEC-5).
    var maxBatchPlaintextBytes = 64 << 20
    static let maxAttempts = 10

    init(
        name: String, catalog: Catalog, keyring: TenantKeyring, tenants: TenantDatabases, spool: any SpoolStore, cache: AggregateCache,
        maxUploadBytes: Int, logger: Logger, now: @escaping @Sendable () -> Date
    ) {
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
    static func releaseClaimsOfDeadProcesses(host: String, catalog: Catalog, logger: Logger) async throws {
        var released = 0
        for (id, owner) in try await catalog.uploads.claimHolders() {
            guard owner.hasPrefix(host + "-") else { continue }
            let parts = owner.dropFirst(host.count + 1).split(separator: "-")
            guard let pid = parts.first.flatMap({ Int32($0) }), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try await catalog.uploads.release(id, heldBy: owner)
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

    func claim() async throws -> [ClaimedUpload] {
        let time = now()
        return try await catalog.uploads.claim(worker: name, limit: Self.batchSize, until: time.addingTimeInterval(Self.claimSeconds), at: time)
    }

    func process(tenantID: TenantID, uploads: [ClaimedUpload]) async {
        let ids = uploads.map(\.id)
        let secrets: [SecretKey]
        do {
            secrets = try await keyring.unwrap(tenantID: tenantID, purpose: .ingest(uploadIDs: ids), worker: name)
        } catch let failure as TenantKeyring.Failure {
            // A locked key stops this tenant only: its uploads wait, unharmed, for the operator.
            logger.warning("ingest paused for a tenant", metadata: ["tenant": .string(tenantID.description), "reason": .string(failure.description)])
            for upload in uploads { await retry(upload, after: 60, reason: "waiting: \(failure.description)", countAttempt: false) }
            return
        } catch {
            for upload in uploads { await retry(upload, reason: "the key could not be read") }
            return
        }
        let tenantStore: TenantStore
        do {
            tenantStore = try await tenants.store(for: TenantScope(claimedUpload: uploads[0]), catalog: catalog)
        } catch {
            logger.warning("ingest: the tenant database does not answer", metadata: ["tenant": .string(tenantID.description)])
            for upload in uploads { await retry(upload, reason: "the tenant database does not answer") }
            return
        }
        // Decrypt and decode outside the lock, so that workers use every core for the CPU-heavy half,
        // on threads of lower priority than the acknowledgements.
        var prepared: [(ClaimedUpload, DocumentPreparation.Prepared)] = []
        var plaintextBytes = 0
        for (index, upload) in uploads.enumerated() {
            let id = upload.id
            do {
                let (spool, limits, createdAt) = (spool, limits, upload.createdAt)
                let (document, size) = try await BackgroundCPU.shared.run {
                    let opened = try MessageDecryptor.decrypt(try spool.get(upload.spoolKey), with: secrets, limits: limits)
                    return (try DocumentPreparation.prepare(opened.data, uploadID: id, receivedAt: createdAt), opened.data.count)
                }
                plaintextBytes += size
                if plaintextBytes > maxBatchPlaintextBytes, !prepared.isEmpty {
                    // This one and the rest wait for the next batch, at no cost to their attempts.
                    for waiting in uploads[index...] { await retry(waiting, after: 0, reason: "next batch", countAttempt: false) }
                    break
                }
                prepared.append((upload, document))
            } catch let error as OpenPGPError {
                await fail(upload, reason: "cannot be opened with the tenant's key: \(error)")
            } catch let rejection as DocumentPreparation.Rejection {
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
        var outcomes: [TenantWriter.Outcome] = []
        var writeError: (any Error)?
        do {
            outcomes = try await tenantStore.ingest(prepared.map(\.1))
        } catch {
            writeError = error
        }
        await TenantWriteLocks.shared.unlock(tenantID)
        if let writeError {
            if let rejection = writeError as? DocumentPreparation.Rejection, prepared.count == 1 {
                await fail(prepared[0].0, reason: rejection.description)
            } else if writeError is DocumentPreparation.Rejection {
                // One document broke a rule only visible while writing: write them one by one.
                for (upload, document) in prepared {
                    do {
                        let outcome = try await tenantStore.ingest([document])[0]
                        try await catalog.uploads.finish(
                            upload.id, done: true, failure: nil, kind: outcome.kind.rawValue, deviceID: outcome.deviceID, at: now())
                        try? spool.delete(upload.spoolKey)
                    } catch let rejection as DocumentPreparation.Rejection {
                        await fail(upload, reason: rejection.description)
                    } catch {
                        await retry(upload, reason: "the tenant database does not answer")
                    }
                }
                await cache.invalidate(tenantID)
            } else {
                logger.warning("ingest: a tenant database write failed; the batch will be retried", metadata: ["tenant": .string(tenantID.description)])
                for (upload, _) in prepared { await retry(upload, reason: "the tenant database does not answer") }
            }
            return
        }
        // One catalog commit for the batch. Should it fail, the uploads are claimed again later and
        // the tenant database's ingested_uploads rows make that a no-op.
        do {
            try await finishDone(Array(zip(prepared.map(\.0), outcomes)))
            // Ingested and recorded: the encrypted body is no longer needed (SEC-5). Kept when
            // the catalog did not take the finish, since the retry reads it again.
            for (upload, _) in prepared { try? spool.delete(upload.spoolKey) }
        } catch {
            logger.warning("ingest: the catalog did not record a finished batch; it will be claimed again", metadata: ["tenant": .string(tenantID.description)])
        }
        await cache.invalidate(tenantID)
    }

    /// Marks a batch done in one statement.
    func finishDone(_ landed: [(ClaimedUpload, TenantWriter.Outcome)]) async throws {
        try await catalog.uploads.finishDone(landed.map { ($0.0.id, $0.1.kind.rawValue, $0.1.deviceID) }, at: now())
    }

    /// Permanent: the reason is kept, and so is the encrypted blob in the spool.
    func fail(_ upload: ClaimedUpload, reason: String) async {
        logger.notice("upload failed", metadata: ["upload": .string(upload.id.uuidString), "reason": .string(reason)])
        try? await catalog.uploads.finish(upload.id, done: false, failure: String(reason.prefix(500)), kind: nil, deviceID: nil, at: now())
    }

    /// Transient: back to the queue with exponential back-off, until `maxAttempts`.
    func retry(_ upload: ClaimedUpload, after delay: TimeInterval? = nil, reason: String, countAttempt: Bool = true) async {
        if countAttempt, upload.attempts >= Self.maxAttempts {
            await fail(upload, reason: "gave up after \(upload.attempts) attempts: \(reason)")
            return
        }
        let wait = delay ?? min(300, pow(2, Double(upload.attempts)))
        // Only failures count as attempts: a crash while an upload was claimed costs it nothing.
        try? await catalog.uploads.requeue(upload.id, attempts: upload.attempts + (countAttempt ? 1 : 0), due: now().addingTimeInterval(wait), at: now())
    }
}

/// Per-tenant mutual exclusion for the writes of one process (see `IngestWorker.process`).
actor TenantWriteLocks {
    static let shared = TenantWriteLocks()
    private var held: Set<TenantID> = []
    private var waiting: [TenantID: [CheckedContinuation<Void, Never>]] = [:]

    func lock(_ tenant: TenantID) async {
        if !held.contains(tenant) {
            held.insert(tenant)
            return
        }
        await withCheckedContinuation { waiting[tenant, default: []].append($0) }
    }

    func unlock(_ tenant: TenantID) {
        if var queue = waiting[tenant], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[tenant] = queue.isEmpty ? nil : queue
            next.resume()  // the lock passes straight to the next waiter
        } else {
            held.remove(tenant)
        }
    }
}
