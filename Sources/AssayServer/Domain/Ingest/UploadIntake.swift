import Foundation
import NIOPosix
import SQLKit

/// Group commit for acknowledgements (ING-1): uploads that arrive while one group is being made
/// durable form the next group, which is written with one directory sync and one catalog
/// transaction. Each caller still hears back only once its own body and queue row are durable.
actor UploadIntake {
    struct Submission: Sendable {
        let tenantID: UUID
        let userID: UUID?
        let sha256: String
        let bytes: [UInt8]
        let spoolKey: String
    }

    enum Receipt: Sendable, Equatable {
        /// Queued now, under this id.
        case accepted(UUID)
        /// The same body was queued before (or by another request of the same group).
        case duplicate
    }

    let catalog: any SQLDatabase
    let spool: any SpoolStore
    let threadPool: NIOThreadPool
    let now: @Sendable () -> Date
    static let maxGroup = 200

    private var waiting: [(Submission, CheckedContinuation<Receipt, any Error>)] = []
    private var draining = false

    init(catalog: any SQLDatabase, spool: any SpoolStore, threadPool: NIOThreadPool, now: @escaping @Sendable () -> Date) {
        self.catalog = catalog
        self.spool = spool
        self.threadPool = threadPool
        self.now = now
    }

    func submit(_ submission: Submission) async throws -> Receipt {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append((submission, continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !waiting.isEmpty {
            let group = Array(waiting.prefix(Self.maxGroup))
            waiting.removeFirst(group.count)
            do {
                let receipts = try await store(group.map(\.0))
                for ((_, continuation), receipt) in zip(group, receipts) { continuation.resume(returning: receipt) }
            } catch {
                for (_, continuation) in group { continuation.resume(throwing: error) }
            }
        }
        draining = false
    }

    /// Bodies first (fsynced), then the queue rows in one statement; only then the receipts.
    private func store(_ group: [Submission]) async throws -> [Receipt] {
        let spool = self.spool
        try await threadPool.runIfActive {
            var seen = Set<String>()
            let missing = group.filter { seen.insert($0.spoolKey).inserted && !spool.exists($0.spoolKey) }
            try spool.putAll(missing.map { ($0.spoolKey, $0.bytes) })
        }
        let time = now()
        let ids = group.map { _ in UUID() }
        let insert = catalog.insert(into: Upload.schema)
            .columns("id", "tenant_id", "user_id", "sha256", "size", "spool_key", "state", "attempts", "next_attempt_at", "created_at", "updated_at")
        for (submission, id) in zip(group, ids) {
            insert.values(SQLBind(id), SQLBind(submission.tenantID), SQLBind(submission.userID), SQLBind(submission.sha256), SQLBind(Int64(submission.bytes.count)),
                          SQLBind(submission.spoolKey), SQLBind(Upload.State.queued.rawValue), SQLBind(0), SQLBind(time), SQLBind(time), SQLBind(time))
        }
        // A body seen before (in an earlier group, or twice in this one) keeps its first row.
        let inserted = Set(try await insert.ignoringConflicts(with: ["tenant_id", "sha256"]).returning("id").all(decodingColumn: "id", as: UUID.self))
        return ids.map { inserted.contains($0) ? .accepted($0) : .duplicate }
    }
}
