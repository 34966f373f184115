import Foundation
import NIOPosix

/// Group commit for acknowledgements (ING-1): uploads that arrive while one group is being made
/// durable form the next group, which is written with one directory sync and one catalog
/// transaction. Each caller still hears back only once its own body and queue row are durable.
actor UploadIntake {
    struct Submission: Sendable {
        let tenantID: TenantID
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

    let queue: UploadQueue
    let spool: any SpoolStore
    let threadPool: NIOThreadPool
    let now: @Sendable () -> Date
    static let maxGroup = 200

    private var waiting: [(Submission, CheckedContinuation<Receipt, any Error>)] = []
    private var draining = false

    init(queue: UploadQueue, spool: any SpoolStore, threadPool: NIOThreadPool, now: @escaping @Sendable () -> Date) {
        self.queue = queue
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
        let ids = group.map { _ in UUID() }
        let entries = zip(group, ids).map { submission, id in
            UploadQueue.Entry(
                id: id, tenantID: submission.tenantID, userID: submission.userID, sha256: submission.sha256,
                size: Int64(submission.bytes.count), spoolKey: submission.spoolKey)
        }
        // A body seen before (in an earlier group, or twice in this one) keeps its first row.
        let inserted = try await queue.enqueue(entries, at: now())
        return ids.map { inserted.contains($0) ? .accepted($0) : .duplicate }
    }
}
