import FluentKit
import Foundation
import SQLKit

/// Appends to and verifies the hash-chained audit log in the catalog (SEC-4). There is one chain
/// per tenant and one for the operator's events (plus `deployment`, the chain of everything written
/// before chains were split), so tenants never wait for each other. Appends to one chain from any
/// number of replicas serialise on the unique (chain, sequence): a writer that loses the race reads
/// the new head and tries again. (A transaction-scoped advisory lock per chain on PostgreSQL was
/// measured: one more round trip per append cost more than the rare retry, 419/s against 532/s.)
public struct AuditLog: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    @discardableResult
    public func append(tenantID: TenantID?, actor: String, action: String, subject: String, detail: String = "", at date: Date) async throws
        -> AuditRecord
    {
        let chain = AuditChain.chain(for: tenantID)
        var lastError: (any Error)?
        for _ in 0..<20 {
            do {
                return try await database.transaction { transaction in
                    let head = try await AuditEvent.query(on: transaction).filter(\.$chain == chain).sort(\.$sequence, .descending).first()
                    var record = AuditRecord(
                        sequence: (head?.sequence ?? 0) + 1, occurredAt: Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000),
                        tenantID: tenantID, actor: actor, action: action, subject: subject, detail: detail,
                        previousHash: head?.hash ?? AuditChain.genesis, chain: chain
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

    /// One chain's verdict.
    public struct ChainReport: Sendable, Equatable {
        public let chain: String
        public let count: Int
        public let head: AuditChain.Head?
        public let chainBreak: AuditChain.Break?
    }

    /// Reads every chain in order, in pages; each report names its first break (nil when whole).
    public func verifyChains() async throws -> [ChainReport] {
        let chains = try await database.sql().raw("SELECT DISTINCT chain FROM \(ident: AuditEvent.schema) ORDER BY chain").all()
            .map { try $0.decode(column: "chain", as: String.self) }
        var reports: [ChainReport] = []
        for chain in chains {
            var records: [AuditRecord] = []
            var after: Int64 = 0
            while true {
                let page = try await AuditEvent.query(on: database).filter(\.$chain == chain).filter(\.$sequence > after).sort(\.$sequence, .ascending)
                    .limit(1000).all()
                guard let last = page.last else { break }
                records.append(contentsOf: page.map(\.record))
                after = last.sequence
            }
            reports.append(
                ChainReport(
                    chain: chain, count: records.count, head: records.last.map { AuditChain.Head(chain: chain, sequence: $0.sequence, hash: $0.hash) },
                    chainBreak: AuditChain.verify(records)))
        }
        return reports
    }

    /// Every chain checked; the number of events and the first break found (nil when all are whole).
    public func verify() async throws -> (count: Int, break: AuditChain.Break?) {
        let reports = try await verifyChains()
        return (reports.map(\.count).reduce(0, +), reports.lazy.compactMap(\.chainBreak).first)
    }

    /// The newest event of every chain: kept elsewhere, they reveal a tail cut off later
    /// (`AuditChain.missing(heads:in:)`), which a chain alone cannot show.
    public func heads() async throws -> [AuditChain.Head] {
        try await verifyChains().compactMap(\.head)
    }

    /// Whether the event a saved head names is still there, unchanged.
    func contains(_ head: AuditChain.Head) async throws -> Bool {
        try await AuditEvent.query(on: database).filter(\.$chain == head.chain).filter(\.$sequence == head.sequence).filter(\.$hash == head.hash).first() != nil
    }

    /// A tenant's events, newest first: read only with the tenant's scope.
    public func events(in scope: TenantScope, limit: Int = 200) async throws -> [AuditRecord] {
        try await AuditEvent.query(on: database).filter(\.$tenantID == scope.tenantID.uuid).sort(\.$occurredAt, .descending).sort(\.$sequence, .descending)
            .limit(limit).all().map(\.record)
    }

    /// How many events of this action the tenant had since `time` (the key unwrap rate, KEY-4).
    func count(tenantID: TenantID, action: String, since time: Date) async throws -> Int {
        try await AuditEvent.query(on: database).filter(\.$tenantID == tenantID.uuid).filter(\.$action == action).filter(\.$occurredAt > time).count()
    }

    enum AuditLogError: Error { case contention }
}
