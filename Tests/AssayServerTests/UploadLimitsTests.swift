import AssayModel
import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

/// SEC-5, LIF-1 (issue 12): per-tenant quotas, and nothing kept longer than it is needed.
@Suite("Upload quotas and retention")
struct UploadLimitsTests {
    @Test("past the tenant's uploads a minute: 429 with Retry-After, audited once per window; the next minute admits again")
    func uploadsPerMinute() async throws {
        let clock = TestClock()
        try await withTestApp(now: { clock.now }, adjust: { $0.tenantUploadsPerMinute = 3 }) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            var statuses: [HTTPStatus] = []
            for index in 0..<5 {
                statuses.append(try await fixture.upload(app, try fixture.encrypt(try consumptionDocument(device: "device-\(1000 + index)"))).0)
            }
            #expect(statuses == [.accepted, .accepted, .accepted, .tooManyRequests, .tooManyRequests])
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "security.upload-quota-exceeded").count() == 1)
            #expect(try await Upload.query(on: app.db).count() == 3, "a refused upload stores nothing")
            clock.advance(60)
            #expect(try await fixture.upload(app, try fixture.encrypt(try consumptionDocument(device: "device-2000"))).0 == .accepted)
        }
    }

    @Test("past the tenant's bytes a day: 429")
    func bytesPerDay() async throws {
        try await withTestApp(adjust: { $0.tenantBytesPerDay = 5_000 }) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let first = try fixture.encrypt(try consumptionDocument(device: "device-0001"))
            #expect(first.count < 5_000)
            #expect(try await fixture.upload(app, first).0 == .accepted)
            var refused = HTTPStatus.ok
            for index in 0..<10 where refused != .tooManyRequests {
                refused = try await fixture.upload(app, try fixture.encrypt(try consumptionDocument(device: "device-01\(index)"))).0
            }
            #expect(refused == .tooManyRequests)
        }
    }

    @Test("an ingested upload's body leaves the spool; a failed one stays (listed) for its retention, then both go", arguments: CatalogBackend.testable)
    func retention(backend: CatalogBackend) async throws {
        let clock = TestClock()
        try await withTestApp(backend, now: { clock.now }) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let good = try fixture.encrypt(try consumptionDocument())
            let bad = try fixture.encrypt(Array(#"{"header": {"schema": 1, "kind": "nonsense"}}"#.utf8))
            #expect(try await fixture.upload(app, good).0 == .accepted)
            #expect(try await fixture.upload(app, bad).0 == .accepted)
            #expect(try await app.ingestWorker(name: "test-worker").runOnce() == 2)
            let key = { (body: [UInt8]) in "\(fixture.tenantID.uuidString.lowercased())/\(sha256Hex(Data(body)))" }
            #expect(!app.ingest.spool.exists(key(good)), "the ingested body was removed")
            #expect(app.ingest.spool.exists(key(bad)), "the failed body is kept for its retention")
            let retention = UploadRetention(
                catalog: Catalog(app.db), spool: app.ingest.spool, failedDays: configuration.failedUploadRetentionDays, logger: app.logger,
                now: { clock.now })
            clock.advance(15 * 86_400)
            #expect(try await retention.sweep() == 0)
            #expect(try await Upload.query(on: app.db).filter(\.$state == .failed).count() == 1)
            clock.advance(2 * 86_400)
            #expect(try await retention.sweep() == 1)
            #expect(!app.ingest.spool.exists(key(bad)))
            #expect(try await Upload.query(on: app.db).filter(\.$state == .failed).count() == 0)
            #expect(try await Upload.query(on: app.db).filter(\.$state == .done).count() == 1, "done uploads stay listed")
            // The same body again after its removal answers the first upload, and leaves nothing behind.
            let fresh = try await ConsoleCredentials(catalog: Catalog(app.db), now: { clock.now })
                .issueOperatorUploadToken(tenantID: TenantID(fixture.tenantID), hours: 1)  // 17 days on: the console's token has expired
            #expect(try await fixture.upload(app, good, token: fresh).0 == .ok)
            #expect(!app.ingest.spool.exists(key(good)))
        }
    }

    @Test("a worker's batch is bounded by plaintext bytes: the rest waits for the next batch, at no cost to its attempts")
    func batchBytes() async throws {
        try await withTestApp { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            for index in 0..<3 {
                #expect(try await fixture.upload(app, try fixture.encrypt(try consumptionDocument(device: "device-000\(index)"))).0 == .accepted)
            }
            var worker = try app.ingestWorker(name: "test-worker")
            worker.maxBatchPlaintextBytes = 1
            _ = try await worker.runOnce()
            #expect(try await Upload.query(on: app.db).filter(\.$state == .done).count() == 1)
            #expect(try await Upload.query(on: app.db).filter(\.$state == .queued).all().allSatisfy { $0.attempts == 0 })
            _ = try await worker.runOnce()
            _ = try await worker.runOnce()
            #expect(try await Upload.query(on: app.db).filter(\.$state == .done).count() == 3)
        }
    }

    @Test("a consumption document is bounded in series × buckets")
    func samplesPerDocument() throws {
        let (_, decoded) = try DocumentPreparation.decode(try consumptionDocument(buckets: 12))
        let document = try #require(decoded as? ConsumptionDocument)
        #expect(throws: Never.self) { try DocumentPreparation.validate(document, maxSamples: 3 * 12) }
        #expect(throws: DocumentPreparation.Rejection.self) { try DocumentPreparation.validate(document, maxSamples: 3 * 12 - 1) }
    }
}
