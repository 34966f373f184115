import FluentKit
import Foundation
import SQLKit

/// Attempt counters per key and fixed window (ASVS 2.2.1), counted in one statement so that
/// attempts arriving at once, on any replica, all count.
struct ThrottleStore: Sendable {
    let database: any Database

    /// Counts one attempt under `key` (which names its window) and returns the count so far.
    func hit(_ key: String, expiresAt: Date) async throws -> Int {
        let row = try await database.sql().raw(
            """
            INSERT INTO throttles (throttle_key, count, expires_at) VALUES (\(bind: key), 1, \(bind: expiresAt))
            ON CONFLICT (throttle_key) DO UPDATE SET count = throttles.count + 1
            RETURNING count
            """
        ).first()
        return try row?.decode(column: "count", as: Int.self) ?? 1
    }

    /// Adds `amount` to each counter in one statement; returns each counter's total so far.
    func add(_ counters: [(key: String, amount: Int, expiresAt: Date)]) async throws -> [String: Int] {
        guard !counters.isEmpty else { return [:] }
        let insert = try database.sql().insert(into: "throttles").columns("throttle_key", "count", "expires_at")
        for counter in counters { insert.values(SQLBind(counter.key), SQLBind(counter.amount), SQLBind(counter.expiresAt)) }
        let rows = try await insert.onConflict(with: ["throttle_key"]) { $0.set("count", to: SQLRaw("throttles.count + excluded.count")) }
            .returning("throttle_key", "count").all()
        var totals: [String: Int] = [:]
        for row in rows { totals[try row.decode(column: "throttle_key", as: String.self)] = try row.decode(column: "count", as: Int.self) }
        return totals
    }

    /// Removes the counters of windows that are over.
    func purge(before time: Date) async throws {
        try await database.sql().raw("DELETE FROM throttles WHERE expires_at < \(bind: time)").run()
    }
}
