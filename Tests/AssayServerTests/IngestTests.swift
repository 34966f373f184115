import AssayModel
import Fluent
import Foundation
import OpenPGP
import SQLKit
import StrictJSON
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

/// A tenant with a writer signed in from the console API, ready to upload.
struct UploadFixture {
    let tenantID: UUID
    let uploadToken: String
    let grant: String
    let certificate: Certificate

    static let email = "jane.doe@acme.example"
    static let password = "Tr0ub4dor & 3 horses"
    static let machine = "console-machine-0001"

    struct Credentials: Decodable {
        let grant: String
        let uploadToken: String
        let tenantID: UUID
    }

    struct Accepted: Decodable {
        let id: UUID
        let state: String
        let failure: String?
        let kind: String?
    }

    static func make(_ app: Application, _ configuration: ServerConfiguration, name: String = "Acme", email: String = email) async throws -> UploadFixture {
        let tenants = TenantService(
            catalog: Catalog(app.db), configuration: configuration, mailer: MemoryMailer(), emailPolicy: try EmailPolicy.bundled(),
            keyring: try app.keyring())
        let created = try await tenants.create(name: name, region: "eu-west", adminEmail: email)
        let token = String(created.invitationLink.split(separator: "#").last!)
        _ = try await AccountService(
            catalog: Catalog(app.db), mailer: MemoryMailer(), hasher: PasswordHasher(iterations: 1000), limiter: HashingLimiter(limit: 2),
            emailPolicy: try EmailPolicy.bundled()
        ).register(
            invitationToken: token, name: "Jane Doe", phone: "+44 20 7946 0958",
            password: password)
        let credentials = try await consoleSignIn(app, configuration, email: email)
        let tenantID = created.tenantID.uuid
        let armored = try await app.keyring().publicKey(tenantID: created.tenantID).publicKey
        return UploadFixture(
            tenantID: tenantID, uploadToken: credentials.uploadToken, grant: credentials.grant,
            certificate: try Certificate(importing: Array(armored.utf8)))
    }

    /// Password, then the mailed code (a new machine), as the console does it.
    static func consoleSignIn(_ app: Application, _ configuration: ServerConfiguration, email: String, password: String = password) async throws -> Credentials
    {
        var attempt = ""
        try await app.testing().test(
            .POST, "api/v1/console/sign-in",
            beforeRequest: { request in
                try request.content.encode(["email": email, "password": password, "machineID": machine])
            },
            afterResponse: { response in
                #expect(response.status == .accepted)
                attempt = (try? response.content.get(String.self, at: "attempt")) ?? ""
            })
        let outbox = configuration.dataDirectory + "/outbox"
        let mails = try FileManager.default.contentsOfDirectory(atPath: outbox).map { try String(contentsOfFile: outbox + "/" + $0, encoding: .utf8) }
        let codes = mails.filter { $0.contains("To: \(email)") }.flatMap { $0.split(whereSeparator: \.isNewline) }.filter { $0.hasPrefix("Your code: ") }
        let code = try #require(codes.last).dropFirst(11).prefix(7)
        var credentials: Credentials?
        try await app.testing().test(
            .POST, "api/v1/console/code",
            beforeRequest: { request in
                try request.content.encode(["attempt": attempt, "code": String(code), "machineID": machine])
            },
            afterResponse: { response in
                #expect(response.status == .ok)
                credentials = try? response.content.decode(Credentials.self)
            })
        return try #require(credentials)
    }

    func encrypt(_ plaintext: [UInt8]) throws -> [UInt8] {
        try MessageEncryptor.encrypt(plaintext, to: [certificate])
    }

    /// POSTs a body; returns the status and the upload id when there is one.
    @discardableResult
    func upload(_ app: Application, _ body: [UInt8], token: String? = nil, digest: String? = nil) async throws -> (HTTPStatus, Accepted?) {
        var status = HTTPStatus.internalServerError
        var accepted: Accepted?
        var headers: HTTPHeaders = ["Authorization": "Bearer \(token ?? uploadToken)", "Content-Type": "application/octet-stream"]
        headers.add(name: UploadController.digestHeader, value: digest ?? sha256Hex(Data(body)))
        try await app.testing().test(
            .POST, "api/v1/uploads", headers: headers,
            beforeRequest: { request in
                request.body = ByteBuffer(bytes: body)
            },
            afterResponse: { response in
                status = response.status
                accepted = try? response.content.decode(Accepted.self)
            })
        return (status, accepted)
    }

    func state(_ app: Application, _ id: UUID, token: String? = nil) async throws -> (HTTPStatus, Accepted?) {
        var status = HTTPStatus.internalServerError
        var accepted: Accepted?
        try await app.testing().test(
            .GET, "api/v1/uploads/\(id)", headers: ["Authorization": "Bearer \(token ?? uploadToken)"],
            afterResponse: { response in
                status = response.status
                accepted = try? response.content.decode(Accepted.self)
            })
        return (status, accepted)
    }

    func tenantDatabase(_ app: Application, _ tenantID: UUID? = nil) async throws -> any SQLDatabase {
        try await app.ingest.tenantDatabases.store(for: try await .forTests(tenantID ?? self.tenantID, app: app), catalog: Catalog(app.db)).database.sql()
    }
}

/// The real bot's inventory of this machine (the dry run: JSON on stdout).
func botInventory() throws -> [UInt8] {
    let process = Process()
    let output = Pipe()
    process.executableURL = repositoryRoot.appendingPathComponent(".build/debug/assay-bot")
    process.arguments = ["inventory"]
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestFailure("assay-bot inventory failed (build it first: swift build)") }
    return Array(data)
}

/// Changes fields of a JSON document (header.device.hostname and the like).
func edited(_ json: [UInt8], _ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
    var object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    change(&object)
    return Array(try JSONSerialization.data(withJSONObject: object))
}

func consumptionDocument(device: String = "device-0001", hostname: String = "db01", start: Int64 = 1_764_374_400, buckets: Int = 12) throws -> [UInt8] {
    var document = ConsumptionDocument(
        header: DocumentHeader(
            kind: .consumption, botVersion: "test", collectedAt: start + Int64(buckets * 300),
            device: DeviceIdentity(id: device, hostname: hostname, fqdn: nil)),
        sampleSeconds: 5, bucketSeconds: 300)
    document.bucketStarts = (0..<buckets).map { start + Int64($0 * 300) }
    document.sampleCounts = Array(repeating: 60, count: buckets)
    document.cpu = StatSeries(
        avg: (0..<buckets).map { Int64(100 + $0 * 10) }, p95: (0..<buckets).map { Int64(300 + $0 * 10) }, max: Array(repeating: 900, count: buckets))
    document.memoryUsedBytes = StatSeries(
        avg: Array(repeating: 1 << 30, count: buckets), p95: Array(repeating: 1 << 30, count: buckets), max: Array(repeating: 1 << 31, count: buckets))
    document.memoryAvailableBytes = StatSeries(
        avg: Array(repeating: 1 << 31, count: buckets), p95: Array(repeating: 1 << 31, count: buckets), max: Array(repeating: 1 << 31, count: buckets))
    document.connections = [
        Connection(
            localAddress: "10.0.0.5", localPort: 51000, remoteAddress: "10.0.0.9", remotePort: 5432, state: "ESTABLISHED",
            direction: .outbound, process: "java", database: true, firstSeen: start, lastSeen: start + 600, count: 3)
    ]
    return Array(try JSONEncoder().encode(document))
}

@Suite("Upload pipeline: console tokens, durable uploads, workers, tenant databases (ING-1, CON-3, CON-4)")
struct IngestTests {
    @Test("console sign-in → upload encrypted to the tenant key → worker → rows in that tenant's database and no other", arguments: CatalogBackend.testable)
    func endToEnd(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let other = try await UploadFixture.make(app, configuration, name: "Globex", email: "hank.scorpio@globex.example")
            let inventory = try botInventory()
            let packages = try JSONDecoder().decode(InventoryDocument.self, from: Data(inventory)).software.count
            let body = try fixture.encrypt(inventory)

            let (status, accepted) = try await fixture.upload(app, body)
            #expect(status == .accepted)
            let id = try #require(accepted?.id)
            // The same body again: the same id, no second copy.
            let (again, repeated) = try await fixture.upload(app, body)
            #expect(again == .ok && repeated?.id == id)
            #expect(try await Upload.query(on: app.db).count() == 1)
            #expect(try await fixture.state(app, id).1?.state == "queued")

            let consumption = try fixture.encrypt(try consumptionDocument())
            #expect(try await fixture.upload(app, consumption).0 == .accepted)

            let worker = try app.ingestWorker(name: "test-worker")
            #expect(try await worker.runOnce() == 2)
            #expect(try await worker.runOnce() == 0)
            let done = try await fixture.state(app, id)
            #expect(done.1?.state == "done" && done.1?.kind == "inventory")

            let tenantDB = try await fixture.tenantDatabase(app)
            let software = try await tenantDB.raw("SELECT COUNT(*) AS n FROM software").first()?.decode(column: "n", as: Int.self)
            #expect(software == packages)
            #expect(try await tenantDB.raw("SELECT COUNT(*) AS n FROM devices").first()?.decode(column: "n", as: Int.self) == 2)
            #expect(try await tenantDB.raw("SELECT COUNT(*) AS n FROM samples WHERE metric = 'cpu'").first()?.decode(column: "n", as: Int.self) == 12)
            #expect(try await tenantDB.raw("SELECT COUNT(*) AS n FROM ingested_uploads").first()?.decode(column: "n", as: Int.self) == 2)
            // ING-3: the daily rollup and the cached aggregates.
            let rollup = try #require(try await tenantDB.raw("SELECT p50, p95, max FROM daily_usage WHERE metric = 'cpu'").first())
            #expect(
                try rollup.decode(column: "p50", as: Int64.self) == 150 && rollup.decode(column: "p95", as: Int64.self) == 410
                    && rollup.decode(column: "max", as: Int64.self) == 900)
            let aggregates = try await app.ingest.cache.aggregates(for: try await .forTests(fixture.tenantID, app: app)) {
                try await TenantReports(database: tenantDB).aggregates()
            }
            #expect(aggregates.devices.count == 2 && aggregates.connections.first?.remote == "10.0.0.9:5432")
            // New data drops the cached aggregates: the next read sees the third device.
            #expect(try await fixture.upload(app, try fixture.encrypt(try consumptionDocument(device: "device-0003"))).0 == .accepted)
            #expect(try await worker.runOnce() == 1)
            let refreshed = try await app.ingest.cache.aggregates(for: try await .forTests(fixture.tenantID, app: app)) {
                try await TenantReports(database: tenantDB).aggregates()
            }
            #expect(refreshed.devices.count == 3)

            // The other tenant's database exists and holds nothing of this.
            let otherDB = try await fixture.tenantDatabase(app, other.tenantID)
            #expect(try await otherDB.raw("SELECT COUNT(*) AS n FROM devices").first()?.decode(column: "n", as: Int.self) == 0)
            // …and its token does not even see this upload.
            #expect(try await fixture.state(app, id, token: other.uploadToken).0 == .notFound)

            // Every unwrap is in the audit log, naming the uploads.
            let unwraps = try await AuditEvent.query(on: app.db).filter(\.$action == "key.unwrapped").all()
            #expect(unwraps.count == 2 && unwraps.contains { $0.detail.contains(id.uuidString.lowercased()) })
            #expect(try await Catalog(app.db).audit.verify().break == nil)
        }
    }

    @Test(
        "snapshots: the newest is the current state whatever the order of arrival, every one is kept, a repeat lands once", arguments: CatalogBackend.testable)
    func snapshotOrder(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let tenantDB = try await fixture.tenantDatabase(app)
            let inventory = try botInventory()
            func snapshot(at time: Int64, hostname: String, packages: [String]) throws -> [UInt8] {
                try edited(inventory) { document in
                    var header = document["header"] as! [String: Any]
                    header["collectedAt"] = time
                    header["device"] = ["id": "device-0042", "hostname": hostname]
                    document["header"] = header
                    var software = document["software"] as! [String: Any]
                    let count = packages.count
                    software["name"] = packages
                    software["version"] = Array(repeating: "1.0", count: count)
                    software["architecture"] = Array(repeating: "amd64", count: count)
                    software["source"] = Array(repeating: "dpkg", count: count)
                    software["vendor"] = Array(repeating: NSNull(), count: count) as [Any]
                    software["installedSizeKiB"] = Array(repeating: 1, count: count)
                    software["installedAt"] = Array(repeating: NSNull(), count: count) as [Any]
                    document["software"] = software
                }
            }
            let newer = try DocumentPreparation.prepare(
                try snapshot(at: 1_764_400_000, hostname: "new-name", packages: ["a", "b", "c"]), uploadID: UUID(), receivedAt: Date())
            let older = try DocumentPreparation.prepare(
                try snapshot(at: 1_764_300_000, hostname: "old-name", packages: ["a", "x"]), uploadID: UUID(), receivedAt: Date())
            // the newer arrives first, the older late, and the newer once more in the same batch as the older
            let first = try await TenantWriter.ingest([newer], into: tenantDB as! any Database)
            let second = try await TenantWriter.ingest([older, newer], into: tenantDB as! any Database)
            #expect(first.map(\.alreadyIngested) == [false] && second.map(\.alreadyIngested) == [false, true])

            let device = try #require(try await tenantDB.raw("SELECT hostname, software_count, inventory_at, first_seen, last_seen FROM devices").all().first)
            #expect(try device.decode(column: "hostname", as: String.self) == "new-name")
            #expect(try device.decode(column: "software_count", as: Int.self) == 3)
            #expect(try device.decode(column: "inventory_at", as: Int64.self) == 1_764_400_000)
            #expect(try device.decode(column: "first_seen", as: Int64.self) == 1_764_300_000)
            #expect(try device.decode(column: "last_seen", as: Int64.self) == 1_764_400_000)
            let names = try await tenantDB.raw("SELECT name FROM software ORDER BY name").all().map { try $0.decode(column: "name", as: String.self) }
            #expect(names == ["a", "b", "c"])
            let kept = try await tenantDB.raw("SELECT collected_at FROM inventory_snapshots ORDER BY collected_at").all().map {
                try $0.decode(column: "collected_at", as: Int64.self)
            }
            #expect(kept == [1_764_300_000, 1_764_400_000])
            // The late snapshot's software is history: its set is kept and named by its snapshot.
            let sets = try await tenantDB.raw(
                "SELECT s.software_set, p.package_count FROM inventory_snapshots s JOIN software_sets p ON p.set_id = s.software_set ORDER BY s.collected_at"
            ).all()
            #expect(try sets.map { try $0.decode(column: "package_count", as: Int.self) } == [2, 3])
            // A snapshot keeps the document as sent, its package list cut down to the set's id.
            let stored = try await tenantDB.raw("SELECT software_set, document FROM inventory_snapshots ORDER BY collected_at").all()
            for row in stored {
                let text = try row.decode(column: "document", as: String.self)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                #expect(object["software"] as? String == (try row.decode(column: "software_set", as: String.self)))
                #expect((object["header"] as? [String: Any])?["kind"] as? String == "inventory")
                #expect(object["system"] != nil && object["cpu"] != nil)
            }
            #expect(try await tenantDB.raw("SELECT COUNT(*) AS n FROM ingested_uploads").first()?.decode(column: "n", as: Int.self) == 2)

            // Two new snapshots of one device in one batch, the newest first: it still wins.
            let newest = try DocumentPreparation.prepare(
                try snapshot(at: 1_764_500_000, hostname: "newest", packages: ["a"]), uploadID: UUID(), receivedAt: Date())
            let between = try DocumentPreparation.prepare(
                try snapshot(at: 1_764_450_000, hostname: "between", packages: ["a", "b"]), uploadID: UUID(), receivedAt: Date())
            _ = try await TenantWriter.ingest([newest, between], into: tenantDB as! any Database)
            let latest = try #require(try await tenantDB.raw("SELECT hostname, software_count, inventory_at FROM devices").all().first)
            #expect(try latest.decode(column: "hostname", as: String.self) == "newest")
            #expect(try latest.decode(column: "software_count", as: Int.self) == 1)
            #expect(try latest.decode(column: "inventory_at", as: Int64.self) == 1_764_500_000)
            #expect(try await tenantDB.raw("SELECT COUNT(*) AS n FROM inventory_snapshots").first()?.decode(column: "n", as: Int.self) == 4)

            // A package listed twice (same name, architecture and version) is one row of its set.
            let repeated = try DocumentPreparation.prepare(
                try snapshot(at: 1_764_600_000, hostname: "newest", packages: ["b", "a", "b", "c", "a"]), uploadID: UUID(), receivedAt: Date())
            _ = try await TenantWriter.ingest([repeated], into: tenantDB as! any Database)
            let listed = try await tenantDB.raw("SELECT name FROM software ORDER BY name").all().map { try $0.decode(column: "name", as: String.self) }
            #expect(listed == ["a", "b", "c"])
        }
    }

    @Test("tenant migrations: T003 turns per-device software rows into shared sets and back; all revert and migrate again", arguments: CatalogBackend.testable)
    func tenantMigrations(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let tenantDB = try await fixture.tenantDatabase(app)
            let id = DatabaseID(string: TenantDatabases.databaseName(TenantID(fixture.tenantID)))
            let database = try #require(app.databases.database(id, logger: app.logger, on: app.eventLoopGroup.any()))
            func migrator(_ migrations: [any Migration]) -> SchemaMigrator { SchemaMigrator(database: database, migrations: migrations, logger: app.logger) }
            let all = migrator(TenantSchema.migrations)
            try await all.revertAll()
            await #expect(throws: (any Error).self) { try await tenantDB.raw("SELECT COUNT(*) FROM devices").run() }
            // T001 and T002 with rows in the old per-device table…
            try await migrator([T001_CreateInventory(), T002_CreateUsage()]).prepare()
            try await tenantDB.raw("INSERT INTO devices (device_id, hostname, first_seen, last_seen) VALUES ('d1', 'h1', 1, 1), ('d2', 'h2', 1, 1)").run()
            try await tenantDB.raw(
                """
                INSERT INTO software (device_id, name, version, architecture, source, vendor)
                VALUES ('d1', 'openssl', '3.0', 'amd64', 'dpkg', NULL), ('d1', 'bash', '5.2', 'amd64', 'dpkg', 'Debian'), ('d2', 'openssl', '3.0', 'amd64', 'dpkg', NULL)
                """
            ).run()
            // …then T003: the same rows come back through the view.
            #expect(try await migrator(Array(TenantSchema.migrations.prefix(3))).prepare() == [T003_ShareSoftwareSets().name])
            func rows() async throws -> [String] {
                try await tenantDB.raw("SELECT device_id, name, version, vendor FROM software ORDER BY device_id, name").all().map {
                    "\(try $0.decode(column: "device_id", as: String.self)) \(try $0.decode(column: "name", as: String.self)) \(try $0.decode(column: "version", as: String.self)) \(try $0.decode(column: "vendor", as: String?.self) ?? "-")"
                }
            }
            let expected = ["d1 bash 5.2 Debian", "d1 openssl 3.0 -", "d2 openssl 3.0 -"]
            #expect(try await rows() == expected)
            #expect(try await tenantDB.raw("SELECT COUNT(*) AS n FROM software_sets").first()?.decode(column: "n", as: Int.self) == 2)
            // T004: the sets get integer keys; the view reads the same.
            #expect(try await all.prepare() == [T004_IntegerSetKeys().name])
            #expect(try await rows() == expected)
            let keyed = try await tenantDB.raw(
                "SELECT s.set_id, COUNT(*) AS n FROM software_sets s JOIN software_set_packages p ON p.set_key = s.set_key GROUP BY s.set_id ORDER BY s.set_id"
            ).all()
            #expect(
                try keyed.map { "\(try $0.decode(column: "set_id", as: String.self)) \(try $0.decode(column: "n", as: Int.self))" } == [
                    "device:d1 2", "device:d2 1",
                ])
            // Each reverts alone and gives the same rows back, and both migrate again.
            #expect(try await all.revertLastBatch() == [T004_IntegerSetKeys().name])
            #expect(try await rows() == expected)
            #expect(try await all.revertLastBatch() == [T003_ShareSoftwareSets().name])
            #expect(try await rows() == expected)
            #expect(try await all.prepare() == [T003_ShareSoftwareSets().name, T004_IntegerSetKeys().name])
            #expect(try await rows() == expected)
            // And this machine's real inventory lands after all that, every package through the view.
            let inventory = try edited(try botInventory()) { document in
                var header = document["header"] as! [String: Any]
                header["device"] = ["id": "d3", "hostname": "h3"]
                document["header"] = header
            }
            _ = try await TenantWriter.ingest([try DocumentPreparation.prepare(inventory, uploadID: UUID(), receivedAt: Date())], into: database)
            let listed = try await tenantDB.raw("SELECT COUNT(*) AS n FROM software WHERE device_id = 'd3'").first()?.decode(column: "n", as: Int.self)
            let counted = try await tenantDB.raw("SELECT software_count FROM devices WHERE device_id = 'd3'").first()?.decode(
                column: "software_count", as: Int.self)
            #expect(listed != nil && listed! > 10 && listed == counted)
        }
    }

    @Test(
        "concurrent uploads share syncs but not answers: one body sent eight times at once is queued once, twenty bodies twenty times",
        arguments: CatalogBackend.testable)
    func concurrentUploads(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let same = try fixture.encrypt(try consumptionDocument())
            let repeated = try await withThrowingTaskGroup(of: (HTTPStatus, UUID?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let (status, accepted) = try await fixture.upload(app, same)
                        return (status, accepted?.id)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(repeated.filter { $0.0 == .accepted }.count == 1)
            #expect(repeated.allSatisfy { $0.0 == .accepted || $0.0 == .ok })
            #expect(Set(repeated.compactMap(\.1)).count == 1)
            let bodies = try (0..<20).map { try fixture.encrypt(try consumptionDocument(device: "device-\(1000 + $0)")) }
            let distinct = try await withThrowingTaskGroup(of: (HTTPStatus, UUID?).self) { group in
                for body in bodies {
                    group.addTask {
                        let (status, accepted) = try await fixture.upload(app, body)
                        return (status, accepted?.id)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(distinct.allSatisfy { $0.0 == .accepted })
            #expect(Set(distinct.compactMap(\.1)).count == 20)
            #expect(try await Upload.query(on: app.db).count() == 21)
            // every acknowledged body is in the spool under its digest
            for body in bodies + [same] {
                #expect(app.ingest.spool.exists("\(fixture.tenantID.uuidString.lowercased())/\(sha256Hex(Data(body)))"))
            }
        }
    }

    @Test("daily rollups (ING-3) are the same whether a day comes whole, in parts, or again", arguments: CatalogBackend.testable)
    func dailyRollups(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let tenantDB = try await fixture.tenantDatabase(app)
            let start: Int64 = 1_764_374_400  // a midnight, UTC
            func ingest(_ document: [UInt8]) async throws {
                _ = try await TenantWriter.ingest(document, uploadID: UUID(), receivedAt: Date(), into: tenantDB as! any Database)
            }
            func cpu(_ device: String) async throws -> [Int64] {
                let row = try #require(
                    try await tenantDB.raw("SELECT p50, p95, max, buckets FROM daily_usage WHERE metric = 'cpu' AND device_id = \(bind: device)").first())
                return try ["p50", "p95", "max", "buckets"].map { try row.decode(column: $0, as: Int64.self) }
            }
            // Whole: the summary comes from the document itself (nothing else in that day).
            try await ingest(try consumptionDocument(device: "whole", start: start, buckets: 24))
            #expect(try await cpu("whole") == [210, 520, 900, 24])
            // In two parts: the second part's day already has samples, so the day is read again.
            try await ingest(try consumptionDocument(device: "halves", start: start, buckets: 12))
            #expect(try await cpu("halves") == [150, 410, 900, 12])
            try await ingest(try consumptionDocument(device: "halves", start: start + 3_600, buckets: 12))
            #expect(try await cpu("halves") == [150, 410, 900, 24])
            // Again, as another upload: nothing new is stored and the summary stands.
            try await ingest(try consumptionDocument(device: "whole", start: start, buckets: 24))
            #expect(try await cpu("whole") == [210, 520, 900, 24])
            #expect(try await tenantDB.raw("SELECT COUNT(*) AS n FROM samples WHERE device_id = 'whole'").first()?.decode(column: "n", as: Int.self) == 72)
        }
    }

    @Test("rows handed to the database as JSON keep every character: quotes, backslashes, control characters, non-ASCII")
    func jsonRows() throws {
        var writer = JSONArrayWriter()
        let awkward = "a\"b\\c\u{0}\u{1f}\n\té€😀</script>"
        writer.row([awkward, nil, ""])
        writer.row("cpu", [-9_223_372_036_854_775_808, 0, 42])
        let parsed = try JSONReader().parse(Array(writer.text.utf8))
        #expect(parsed == .array([.array([.string(awkward), .null, .string("")]), .array([.string("cpu"), .integer(.min), .integer(0), .integer(42)])]))
    }

    @Test("a software set's id is its content: equal sets share it, sets that differ only in where a field ends or in a missing vendor do not")
    func softwareSetIDs() {
        func set(_ packages: [(String, String, String?)]) -> String {
            DocumentPreparation.SoftwareSet(
                SoftwareInventory(
                    packages.map {
                        SoftwarePackage(
                            name: $0.0, version: $0.1, architecture: "amd64", source: .dpkg, vendor: $0.2, installedSizeBytes: nil, installedAt: nil)
                    })
            ).id
        }
        #expect(set([("bash", "5.2", "Debian")]) == set([("bash", "5.2", "Debian")]))
        #expect(set([("ab", "c", nil)]) != set([("a", "bc", nil)]))
        #expect(set([("a", "b", nil)]) != set([("a", "b", "")]))
        #expect(set([("a", "b", nil), ("c", "d", nil)]) != set([("a", "b", nil)]))
        #expect(set([("a", "b", nil)]).hasPrefix("sha256:") && set([("a", "b", nil)]).count == 71)
    }

    @Test("the upload token opens the upload endpoints and nothing else", arguments: CatalogBackend.testable)
    func uploadTokenIsUploadOnly(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let anonymous: HTTPHeaders = ["Origin": configuration.publicURL, "Accept": "text/html"]
            var bearer = anonymous
            bearer.add(name: .authorization, value: "Bearer \(fixture.uploadToken)")
            // Every route of the application but the upload ones, so that a route added tomorrow is
            // covered the day it is added: with the token it answers exactly as without it.
            let routes = app.routes.all.filter { route in
                !(route.path.count >= 3 && route.path[0] == "api" && route.path[1] == "v1" && route.path[2] == "uploads")
            }
            #expect(routes.count >= 30, "\(routes.count) routes: the route table was not read")
            for route in routes {
                let path = route.path.map { component -> String in
                    switch component {
                    case .constant(let text): text
                    case .parameter: UUID().uuidString
                    case .anything, .catchall: "x"
                    }
                }.joined(separator: "/")
                var statuses: [HTTPStatus] = []
                for headers in [anonymous, bearer] {
                    try await app.testing().test(route.method, path, headers: headers, afterResponse: { statuses.append($0.status) })
                }
                #expect(statuses[0] == statuses[1], "\(route.method) /\(path) answered \(statuses[1]) with the upload token, \(statuses[0]) without")
                #expect(!(200..<300).contains(statuses[1].code) || (200..<300).contains(statuses[0].code))
            }
            // And a session cookie does not open the upload endpoint.
            try await app.testing().test(
                .POST, "api/v1/uploads", headers: ["Cookie": "\(SessionCookie.session)=ass_x"],
                afterResponse: { response in
                    #expect(response.status == .unauthorized)
                })
        }
    }

    @Test("expired tokens, reused grants (the whole chain revoked) and writers only: each refused and audited")
    func grantsAndTokens() async throws {
        let clock = TestClock()
        try await withTestApp(now: { clock.now }) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let body = try fixture.encrypt(try consumptionDocument())

            // The grant turns into a new grant and upload token; the old grant is spent.
            var renewed: UploadFixture.Credentials?
            try await app.testing().test(
                .POST, "api/v1/console/token",
                beforeRequest: { request in
                    try request.content.encode(["grant": fixture.grant])
                },
                afterResponse: { response in
                    #expect(response.status == .ok)
                    renewed = try? response.content.decode(UploadFixture.Credentials.self)
                })
            let fresh = try #require(renewed)
            #expect(fresh.grant != fixture.grant && fresh.grant.hasPrefix("asg_") && fresh.uploadToken.hasPrefix("asu_"))
            #expect(try await fixture.upload(app, body, token: fresh.uploadToken).0 == .accepted)

            // Someone replays the old grant: refused, and every grant and token of the chain dies.
            try await app.testing().test(
                .POST, "api/v1/console/token",
                beforeRequest: { request in
                    try request.content.encode(["grant": fixture.grant])
                }, afterResponse: { response in #expect(response.status == .unauthorized) })
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "security.console-grant-reused").count() == 1)
            let other = try fixture.encrypt(try consumptionDocument(device: "device-0002"))
            #expect(try await fixture.upload(app, other, token: fresh.uploadToken).0 == .unauthorized)
            try await app.testing().test(
                .POST, "api/v1/console/token",
                beforeRequest: { request in
                    try request.content.encode(["grant": fresh.grant])
                }, afterResponse: { response in #expect(response.status == .unauthorized) })

            // A new sign-in (a known machine now: no code) gives a token that expires after 12 hours.
            var signedIn: UploadFixture.Credentials?
            try await app.testing().test(
                .POST, "api/v1/console/sign-in",
                beforeRequest: { request in
                    try request.content.encode(["email": UploadFixture.email, "password": UploadFixture.password, "machineID": UploadFixture.machine])
                },
                afterResponse: { response in
                    #expect(response.status == .ok)
                    signedIn = try? response.content.decode(UploadFixture.Credentials.self)
                })
            let token = try #require(signedIn?.uploadToken)
            clock.advance(12 * 3600 + 1)
            #expect(try await fixture.upload(app, other, token: token).0 == .unauthorized)
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "upload-token.refused").count() >= 2)

            // A user without the write claim gets no console credentials.
            let reader = User(
                tenantID: fixture.tenantID, email: "reader@acme.example", name: "Reader", phone: "+33612345678",
                passwordHash: try PasswordHasher(iterations: 1000).hash("Reader-pass-1"), claims: [.read])
            try await reader.create(on: app.db)
            try await app.testing().test(
                .POST, "api/v1/console/sign-in",
                beforeRequest: { request in
                    try request.content.encode(["email": "reader@acme.example", "password": "Reader-pass-1", "machineID": UploadFixture.machine])
                }, afterResponse: { response in #expect(response.status == .unauthorized) })
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "console.signin.refused.claim").count() == 1)
        }
    }

    @Test("hostile uploads are refused or fail with a reason; names carrying SQL and HTML are stored as data", arguments: CatalogBackend.testable)
    func hostileUploads(backend: CatalogBackend) async throws {
        try await withTestApp(backend, adjust: { $0.maxUploadBytes = 256 * 1024 }) { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let inventory = try botInventory()

            #expect(try await fixture.upload(app, Array("{\"just\": \"json\"}".utf8)).0 == .unsupportedMediaType)
            #expect(try await fixture.upload(app, [0x85, 1, 2, 3], digest: String(repeating: "0", count: 64)).0 == .badRequest)
            #expect(try await fixture.upload(app, Array(repeating: 0x85, count: 300 * 1024)).0 == .payloadTooLarge)

            let stranger = try SecretKey.generate(userID: "Stranger <s@example.com>", size: .bits2048)
            let wrongKey = try MessageEncryptor.encrypt(inventory, to: [stranger.certificate])
            var tampered = try fixture.encrypt(inventory)
            tampered[tampered.count - 5] ^= 0x01
            let bomb = try fixture.encrypt(Array(repeating: UInt8(ascii: " "), count: 80 << 20))
            let notJSON = try fixture.encrypt(Array("<html>not a document</html>".utf8))
            let future = try fixture.encrypt(
                try edited(inventory) { object in
                    var header = object["header"] as! [String: Any]
                    header["schema"] = 99
                    object["header"] = header
                })
            let hostileName = "db01'); DROP TABLE devices; --<script>alert(1)</script>"
            let hostile = try fixture.encrypt(
                try edited(inventory) { object in
                    var header = object["header"] as! [String: Any]
                    var device = header["device"] as! [String: Any]
                    device["hostname"] = hostileName
                    header["device"] = device
                    object["header"] = header
                    var software = object["software"] as! [String: Any]
                    var names = software["name"] as! [String]
                    names[0] = "pkg\"; DELETE FROM software; --"
                    software["name"] = names
                    object["software"] = software
                })
            var ids: [String: UUID] = [:]
            for (name, body) in [
                ("wrong key", wrongKey), ("tampered", tampered), ("bomb", bomb), ("not JSON", notJSON), ("future", future), ("hostile", hostile),
            ] {
                let (status, accepted) = try await fixture.upload(app, body)
                #expect(status == .accepted, "\(name)")
                ids[name] = accepted?.id
            }
            let worker = try app.ingestWorker(name: "test-worker")
            while try await worker.runOnce() > 0 {}
            func state(_ name: String) async throws -> UploadFixture.Accepted? { try await fixture.state(app, try #require(ids[name])).1 }
            #expect(try await state("wrong key")?.failure?.contains("cannot be opened") == true)
            #expect(try await state("tampered")?.state == "failed")
            let bombFailure = try await state("bomb")?.failure ?? ""
            #expect(bombFailure.contains("too large") || bombFailure.contains("limit"), "\(bombFailure)")
            #expect(try await state("not JSON")?.failure?.contains("not a valid bot document") == true)
            #expect(try await state("future")?.failure?.contains("newer than this service") == true)
            #expect(try await state("hostile")?.state == "done")
            // Failed blobs stay in the spool for inspection.
            let failed = try #require(try await Upload.find(ids["tampered"], on: app.db))
            #expect(app.ingest.spool.exists(failed.spoolKey))

            let tenantDB = try await fixture.tenantDatabase(app)
            let stored = try await tenantDB.raw("SELECT hostname FROM devices").first()?.decode(column: "hostname", as: String.self)
            #expect(stored == hostileName)
            #expect(
                try await tenantDB.raw("SELECT COUNT(*) AS n FROM software WHERE name LIKE 'pkg\"; DELETE%'").first()?.decode(column: "n", as: Int.self) == 1)
            // The failure reasons name no key material.
            for upload in try await Upload.query(on: app.db).all() {
                #expect(!(upload.failure ?? "").contains("BEGIN PGP"))
            }
        }
    }

    @Test("an out-of-pattern unwrap locks that tenant's key and stops its ingestion only; an operator unlocks it", arguments: CatalogBackend.testable)
    func keyLock(backend: CatalogBackend) async throws {
        try await withTestApp(backend) { app, configuration in
            let acme = try await UploadFixture.make(app, configuration)
            let globex = try await UploadFixture.make(app, configuration, name: "Globex", email: "hank.scorpio@globex.example")
            let acmeBody = try acme.encrypt(try consumptionDocument())
            let globexBody = try globex.encrypt(try consumptionDocument())
            let (_, queued) = try await acme.upload(app, acmeBody)

            // An unwrap for no upload at all, and one naming an upload that is not being processed.
            let keyring = try app.keyring()
            await #expect(throws: TenantKeyring.Failure.self) {
                try await keyring.unwrap(tenantID: TenantID(acme.tenantID), purpose: .other("curiosity"), worker: "rogue")
            }
            let locked = try #require(try await Tenant.find(acme.tenantID, on: app.db))
            #expect(locked.keyLockedAt != nil && locked.keyLockReason?.contains("other than ingest") == true)
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "security.key-locked").count() == 1)

            // Acme's ingestion stops; Globex goes on.
            #expect(try await acme.upload(app, try acme.encrypt(try consumptionDocument(device: "device-0003"))).0 == .locked)
            #expect(try await globex.upload(app, globexBody).0 == .accepted)
            let worker = try app.ingestWorker(name: "test-worker")
            #expect(try await worker.runOnce() == 1)
            #expect(try await acme.state(app, try #require(queued?.id)).1?.state == "queued")
            #expect(try await Upload.query(on: app.db).filter(\.$tenantID == globex.tenantID).first()?.state == .done)

            // Only the operator command unlocks; then the waiting upload lands.
            try await keyring.unlock(tenantID: TenantID(acme.tenantID), reason: "checked the worker logs with the security team", actor: "operator")
            #expect(try await worker.runOnce() == 1)
            #expect(try await acme.state(app, try #require(queued?.id)).1?.state == "done")

            // A wrapped key that was tampered with locks the key too.
            let stored = try #require(try await TenantKey.query(on: app.db).filter(\.$tenantID == globex.tenantID).first())
            var wrapped = try #require(Data(base64Encoded: stored.wrappedSecret))
            wrapped[20] ^= 0xFF
            stored.wrappedSecret = wrapped.base64EncodedString()
            try await stored.save(on: app.db)
            #expect(try await globex.upload(app, try globex.encrypt(try consumptionDocument(device: "device-0004"))).0 == .accepted)
            #expect(try await worker.runOnce() == 1)
            #expect(try await Tenant.find(globex.tenantID, on: app.db)?.keyLockReason?.contains("integrity") == true)
        }
    }

    @Test("unwraps beyond the rate, or naming uploads that are not being processed, lock the key (KEY-4)", arguments: CatalogBackend.testable)
    func unwrapPatterns(backend: CatalogBackend) async throws {
        try await withTestApp(backend, adjust: { $0.keyUnwrapsPerMinute = 2 }) { app, configuration in
            let acme = try await UploadFixture.make(app, configuration)
            let globex = try await UploadFixture.make(app, configuration, name: "Globex", email: "hank.scorpio@globex.example")
            let keyring = try app.keyring()
            let worker = try app.ingestWorker(name: "test-worker")

            // Rate: two unwraps for claimed work pass; the third within the minute locks the key.
            _ = try await acme.upload(app, try acme.encrypt(try consumptionDocument()))
            let claimed = try await worker.claim().compactMap(\.id)
            #expect(claimed.count == 1)
            for _ in 0..<2 { _ = try await keyring.unwrap(tenantID: TenantID(acme.tenantID), purpose: .ingest(uploadIDs: claimed), worker: "test-worker") }
            await #expect(throws: TenantKeyring.Failure.self) {
                try await keyring.unwrap(tenantID: TenantID(acme.tenantID), purpose: .ingest(uploadIDs: claimed), worker: "test-worker")
            }
            #expect(try await Tenant.find(acme.tenantID, on: app.db)?.keyLockReason?.contains("more than 2 unwraps") == true)

            // An unwrap naming an upload that is queued, not claimed, locks Globex's key too.
            let (_, queued) = try await globex.upload(app, try globex.encrypt(try consumptionDocument()))
            let waiting = try #require(queued?.id)
            await #expect(throws: TenantKeyring.Failure.self) {
                try await keyring.unwrap(tenantID: TenantID(globex.tenantID), purpose: .ingest(uploadIDs: [waiting]), worker: "rogue")
            }
            #expect(try await Tenant.find(globex.tenantID, on: app.db)?.keyLockReason?.contains("not being processed") == true)
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "security.key-locked").count() == 2)
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "key.unwrapped").count() == 2)
        }
    }

    @Test("tenant key rotation: the new key is published, messages to the old key still open; the KEK rotates too")
    func rotation() async throws {
        try await withTestApp { app, configuration in
            let fixture = try await UploadFixture.make(app, configuration)
            let oldBody = try fixture.encrypt(try consumptionDocument())
            let keyring = try app.keyring()
            let fresh = try await keyring.createKey(tenantID: TenantID(fixture.tenantID), actor: "operator")
            #expect(try await keyring.publicKey(tenantID: TenantID(fixture.tenantID)).fingerprint == fresh.fingerprint)
            #expect(fresh.fingerprint != fixture.certificate.fingerprint.description)
            let newCertificate = try Certificate(importing: Array(fresh.publicKey.utf8))
            let newBody = try MessageEncryptor.encrypt(try consumptionDocument(device: "device-0002"), to: [newCertificate])
            #expect(try await fixture.upload(app, oldBody).0 == .accepted)
            #expect(try await fixture.upload(app, newBody).0 == .accepted)
            #expect(try await app.ingestWorker(name: "w").runOnce() == 2)
            #expect(try await Upload.query(on: app.db).filter(\.$state == .done).count() == 2)

            // KEK rotation: every key re-wrapped under the new KEK, and still opens.
            let newKEK = try KeyEncryptionKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
            let rotated = TenantKeyring(catalog: Catalog(app.db), keys: KeyEncryptionKeys(current: newKEK, previous: app.keyEncryptionKeys!.current))
            #expect(try await rotated.rewrapAll(actor: "operator") == 2)
            #expect(try await TenantKey.query(on: app.db).filter(\.$kekID == newKEK.id).count() == 2)
            let afterRotation = TenantKeyring(catalog: Catalog(app.db), keys: KeyEncryptionKeys(current: newKEK))
            #expect(try await fixture.upload(app, try fixture.encrypt(try consumptionDocument(device: "device-0003"))).0 == .accepted)
            let claimed = try await app.ingestWorker(name: "w").claim()
            let secrets = try await afterRotation.unwrap(tenantID: TenantID(fixture.tenantID), purpose: .ingest(uploadIDs: claimed.map(\.id)), worker: "w")
            #expect(secrets.count == 2)
        }
    }

    @Test("a key-encryption key file readable by others is refused; the id names the key without revealing it")
    func kekFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kek-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let kek = try KeyEncryptionKey.loadOrCreate(file: path)
        #expect(try KeyEncryptionKey(file: path).id == kek.id)
        chmod(path, 0o644)
        #expect(throws: KeyEncryptionKey.Failure.self) { try KeyEncryptionKey(file: path) }
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!kek.id.contains(text) && kek.id.hasPrefix("kek-"))
        #expect(throws: KeyEncryptionKey.Failure.self) { try KeyEncryptionKey(base64: "c2hvcnQ=", source: "ASSAY_KEK") }
    }
}
