import FluentKit
import Foundation

/// Appends to and verifies the hash-chained audit log in the catalog (SEC-4). Appends from any
/// number of replicas serialize on the unique sequence number: a writer that loses the race reads
/// the new head and tries again.
public struct AuditLog: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    @discardableResult
    public func append(tenantID: TenantID?, actor: String, action: String, subject: String, detail: String = "", at date: Date = Date()) async throws
        -> AuditRecord
    {
        var lastError: (any Error)?
        for _ in 0..<20 {
            do {
                return try await database.transaction { transaction in
                    let head = try await AuditEvent.query(on: transaction).sort(\.$sequence, .descending).first()
                    var record = AuditRecord(
                        sequence: (head?.sequence ?? 0) + 1, occurredAt: Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000),
                        tenantID: tenantID, actor: actor, action: action, subject: subject, detail: detail,
                        previousHash: head?.hash ?? AuditChain.genesis
                    )
                    record.hash = AuditChain.computeHash(record)
                    try await AuditEvent(record).create(on: transaction)
                    return record
                }
            } catch {
                lastError = error
                try await Task.sleep(nanoseconds: UInt64.random(in: 1_000_000...10_000_000))
            }
        }
        throw lastError ?? AuditLogError.contention
    }

    /// Reads the whole chain in order, in pages, and returns the first break (nil when whole).
    public func verify() async throws -> (count: Int, break: AuditChain.Break?) {
        var records: [AuditRecord] = []
        var after: Int64 = 0
        while true {
            let page = try await AuditEvent.query(on: database).filter(\.$sequence > after).sort(\.$sequence, .ascending).limit(1000).all()
            guard let last = page.last else { break }
            records.append(contentsOf: page.map(\.record))
            after = last.sequence
        }
        return (records.count, AuditChain.verify(records))
    }

    public func events(tenantID: TenantID, limit: Int = 200) async throws -> [AuditRecord] {
        try await AuditEvent.query(on: database).filter(\.$tenantID == tenantID.uuid).sort(\.$sequence, .descending).limit(limit).all().map(\.record)
    }

    /// How many events of this action the tenant had since `time` (the key unwrap rate, KEY-4).
    func count(tenantID: TenantID, action: String, since time: Date) async throws -> Int {
        try await AuditEvent.query(on: database).filter(\.$tenantID == tenantID.uuid).filter(\.$action == action).filter(\.$occurredAt > time).count()
    }

    enum AuditLogError: Error { case contention }
}
