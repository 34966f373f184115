import Fluent
import Foundation
import SQLKit
import Testing
import Vapor

@testable import AssayServer

/// One audit chain per tenant and one for the operator (issue 12, point 10): no tenant waits for
/// another, every chain verifies on its own, and saved heads reveal a cut tail.
@Suite("Audit chains per tenant")
struct AuditChainTests {
    @Test("each tenant and the operator have a chain of their own; 8 tenants appending at once keep 8 whole chains", arguments: CatalogBackend.testable)
    func chainsPerTenant(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, _ in
            let log = Catalog(app.db).audit
            let tenants = (0..<8).map { _ in TenantID(UUID()) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for tenant in tenants {
                    group.addTask {
                        for index in 0..<25 { try await log.append(tenantID: tenant, actor: "test", action: "a.\(index)", subject: "s", at: Date()) }
                    }
                }
                group.addTask { for _ in 0..<5 { try await log.append(tenantID: nil, actor: "operator", action: "o", subject: "s", at: Date()) } }
                try await group.waitForAll()
            }
            let reports = try await log.verifyChains()
            #expect(reports.count == 9)
            #expect(reports.allSatisfy { $0.chainBreak == nil })
            for tenant in tenants {
                let report = try #require(reports.first { $0.chain == tenant.lowercased })
                #expect(report.count == 25 && report.head?.sequence == 25)
            }
            #expect(reports.first { $0.chain == AuditChain.operatorChain }?.count == 5)
            // A tenant's chain holds its own events only, newest last.
            let events = try await AuditEvent.query(on: app.db).filter(\.$chain == tenants[0].lowercased).sort(\.$sequence, .descending).limit(10)
                .all().map(\.record)
            #expect(events.count == 10 && events.allSatisfy { $0.tenantID == tenants[0] } && events.first?.sequence == 25)
        }
    }

    @Test("saved heads reveal a tail cut off later, which the chain alone cannot show; an edit still breaks the chain", arguments: CatalogBackend.testable)
    func headsRevealTruncation(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, _ in
            let log = Catalog(app.db).audit
            let tenant = TenantID(UUID())
            for index in 0..<4 { try await log.append(tenantID: tenant, actor: "test", action: "a.\(index)", subject: "s", at: Date()) }
            let saved = try await log.heads()
            #expect(saved.count == 1 && saved[0].line.hasPrefix("\(tenant.lowercased) 4 "))
            #expect(AuditChain.Head(line: saved[0].line) == saved[0])
            for head in saved { #expect(try await log.contains(head)) }
            // The newest event is deleted: every remaining hash still links, the saved head does not.
            try await AuditEvent.query(on: app.db).filter(\.$chain == tenant.lowercased).filter(\.$sequence == 4).delete()
            #expect(try await log.verify().break == nil)
            #expect(try await log.contains(saved[0]) == false)
            // An edit in the middle is caught by the chain itself.
            let second = try #require(try await AuditEvent.query(on: app.db).filter(\.$chain == tenant.lowercased).filter(\.$sequence == 2).first())
            second.detail = "edited"
            try await second.save(on: app.db)
            #expect(try await log.verify().break == .hashMismatch(sequence: 2))
        }
    }

    @Test("events written before the split keep their chain (deployment) and still verify", arguments: CatalogBackend.testable)
    func migrationKeepsOldChain(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, _ in
            let migrator = app.catalogMigrator
            // Back to the catalog as it was before M011, with three events of the old single chain.
            try await migrator.revertLastBatch()
            let before = SchemaMigrator(
                database: app.db, migrations: Array(CatalogSchema.migrations.prefix { !($0 is M011_AuditChainPerTenant) }), logger: app.logger)
            try await before.prepare()
            var previous = AuditChain.genesis
            for sequence in Int64(1)...3 {
                var record = AuditRecord(
                    sequence: sequence, occurredAt: Date(timeIntervalSince1970: 1_764_000_000 + Double(sequence)), tenantID: nil, actor: "old",
                    action: "old.\(sequence)", subject: "s", detail: "", previousHash: previous)
                record.hash = AuditChain.computeHash(record)
                previous = record.hash
                try await app.db.sql().insert(into: "audit_events")
                    .columns("id", "sequence", "occurred_at", "tenant_id", "actor", "action", "subject", "detail", "previous_hash", "hash")
                    .values(
                        SQLBind(UUID()), SQLBind(record.sequence), SQLBind(record.occurredAt), SQLBind(UUID?.none), SQLBind(record.actor),
                        SQLBind(record.action),
                        SQLBind(record.subject), SQLBind(record.detail), SQLBind(record.previousHash), SQLBind(record.hash)
                    ).run()
            }
            // when
            try await migrator.prepare()
            try await Catalog(app.db).audit.append(tenantID: nil, actor: "new", action: "new", subject: "s", at: Date())
            // then
            let reports = try await Catalog(app.db).audit.verifyChains()
            #expect(reports.first { $0.chain == AuditChain.deploymentChain }?.count == 3)
            #expect(reports.first { $0.chain == AuditChain.operatorChain }?.count == 1)
            #expect(reports.allSatisfy { $0.chainBreak == nil })
        }
    }
}
