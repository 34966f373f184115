import Foundation
import Logging

/// No unbounded growth (SEC-5, LIF-1): the encrypted body of an ingested upload is removed as soon
/// as its rows are in the tenant database (the worker does it); a failed upload keeps its body, and
/// stays listed on the Uploads page, for `failedDays`, then both go.
struct UploadRetention: Sendable {
    let catalog: Catalog
    let spool: any SpoolStore
    let failedDays: Int
    let logger: Logger
    let now: @Sendable () -> Date

    /// Removes what has expired, in rounds of 500; returns how many uploads went.
    @discardableResult
    func sweep() async throws -> Int {
        var removed = 0
        let cutoff = now().addingTimeInterval(-TimeInterval(failedDays) * 86_400)
        while true {
            let expired = try await catalog.uploads.failed(before: cutoff, limit: 500)
            guard !expired.isEmpty else { break }
            for upload in expired { try spool.delete(upload.spoolKey) }
            try await catalog.uploads.remove(expired.map(\.id))
            removed += expired.count
        }
        if removed > 0 {
            logger.notice(
                "failed uploads past their retention removed", metadata: ["count": .stringConvertible(removed), "days": .stringConvertible(failedDays)])
        }
        return removed
    }
}
