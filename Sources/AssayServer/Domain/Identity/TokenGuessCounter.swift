import Foundation
import Logging

/// Counts unknown tokens (session cookies, upload tokens) per client address. Past the threshold
/// within the window it records a security event once and slows that client down (AUTH-10).
/// Per replica: a guesser spread over replicas is still slowed on each.
actor TokenGuessCounter {
    /// The audit action of the security event (`security.session-token-guessing` …).
    let action: String
    let threshold: Int
    let window: TimeInterval
    private var counts: [String: (first: Date, count: Int, reported: Bool)] = [:]

    init(action: String, threshold: Int = 20, window: TimeInterval = 600) {
        self.action = action
        self.threshold = threshold
        self.window = window
    }

    func unknownToken(from client: String, at time: Date, catalog: Catalog, logger: Logger) async throws {
        var entry = counts[client] ?? (time, 0, false)
        if time.timeIntervalSince(entry.first) > window { entry = (time, 0, false) }
        entry.count += 1
        let shouldReport = entry.count >= threshold && !entry.reported
        if shouldReport { entry.reported = true }
        counts[client] = entry
        if counts.count > 100_000 { counts.removeAll() }
        if shouldReport {
            logger.warning(
                "security event: unknown tokens", metadata: ["event": .string(action), "client": .string(client), "count": .stringConvertible(entry.count)])
            try await catalog.audit.append(
                tenantID: nil, actor: "client:\(client)", action: action,
                subject: "client:\(client)", detail: "unknown tokens=\(entry.count)", at: time)
        }
        if entry.count >= threshold {
            try await Task.sleep(nanoseconds: 500_000_000)
        }
    }

    func count(for client: String) -> Int { counts[client]?.count ?? 0 }
}
