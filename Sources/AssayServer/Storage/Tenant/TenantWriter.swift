import AssayModel
import FluentKit
import Foundation
import SQLKit

/// Turns prepared bot documents into rows of one tenant database, in one transaction, exactly
/// once (ING-1): devices upserted by device id; software stored once per set with every snapshot
/// kept; samples and connections appended without duplicates; daily rollups brought up to date
/// (ING-3). Every value goes in as a bound parameter: a host name carrying SQL is just a host name.
public struct TenantWriter {
    let database: any SQLDatabase

    public struct Outcome: Equatable, Sendable {
        public let kind: DocumentKind
        public let deviceID: String
        public let alreadyIngested: Bool
    }

    static func ingest(_ plaintext: [UInt8], uploadID: UUID, receivedAt: Date, into tenantDatabase: any Database) async throws -> Outcome {
        try await ingest([try DocumentPreparation.prepare(plaintext, uploadID: uploadID, receivedAt: receivedAt)], into: tenantDatabase)[0]
    }

    /// Writes a batch in one transaction (one commit, one fsync); each document with its
    /// `ingested_uploads` row, so a batch lands whole or not at all, and a retry skips what landed.
    public static func ingest(_ batch: [DocumentPreparation.Prepared], into tenantDatabase: any Database) async throws -> [Outcome] {
        try await tenantDatabase.transaction { transaction in
            let sql = try transaction.sql()
            let writer = TenantWriter(database: sql)
            let keys = batch.map { $0.uploadID.uuidString.lowercased() }
            let seen = Set(
                try await sql.select().column("upload_id").from("ingested_uploads")
                    .where("upload_id", .in, SQLBind.group(keys)).all(decodingColumn: "upload_id", as: String.self))
            var outcomes: [Outcome] = []
            let landed = sql.insert(into: "ingested_uploads")
                .columns("upload_id", "kind", "device_id", "ingested_at")
            var written = Set<String>()
            var inventories: [InventoryRow] = []
            for (prepared, uploadKey) in zip(batch, keys) {
                let header = prepared.header
                guard !seen.contains(uploadKey), written.insert(uploadKey).inserted else {
                    outcomes.append(Outcome(kind: prepared.kind, deviceID: header.device.id, alreadyIngested: true))
                    continue
                }
                switch prepared.document {
                case let inventory as InventoryDocument:
                    guard let set = prepared.softwareSet else { throw DocumentPreparation.Rejection.invalid("software columns differ in length") }
                    // Written together below: a few statements for the whole batch.
                    inventories.append(InventoryRow(document: inventory, softwareSet: set, uploadID: uploadKey, snapshotText: prepared.snapshotText))
                case let consumption as ConsumptionDocument: try await writer.write(consumption)
                case let connections as ConnectionsDocument: try await writer.write(connections)
                default: break
                }
                landed.values(
                    SQLBind(uploadKey), SQLBind(prepared.kind.rawValue), SQLBind(header.device.id), SQLBind(Int64(prepared.receivedAt.timeIntervalSince1970)))
                outcomes.append(Outcome(kind: prepared.kind, deviceID: header.device.id, alreadyIngested: false))
            }
            try await writer.write(inventories)
            if !written.isEmpty { try await landed.run() }
            return outcomes
        }
    }

    // MARK: devices

    private func touchDevice(_ header: DocumentHeader) async throws {
        try await database.insert(into: "devices").columns("device_id", "hostname", "fqdn", "first_seen", "last_seen")
            .values(
                SQLBind(header.device.id), SQLBind(header.device.hostname), SQLBind(header.device.fqdn), SQLBind(header.collectedAt),
                SQLBind(header.collectedAt)
            )
            .onConflict(with: ["device_id"]) { Self.sightings($0) }
            .run()
    }

    /// First and last sighting widen; the host name follows the newest sighting.
    private static func sightings(_ update: SQLConflictUpdateBuilder) -> SQLConflictUpdateBuilder {
        update.set("first_seen", to: SQLRaw("CASE WHEN excluded.first_seen < devices.first_seen THEN excluded.first_seen ELSE devices.first_seen END"))
            .set("last_seen", to: SQLRaw("CASE WHEN excluded.last_seen > devices.last_seen THEN excluded.last_seen ELSE devices.last_seen END"))
            .set("hostname", to: SQLRaw("CASE WHEN excluded.last_seen >= devices.last_seen THEN excluded.hostname ELSE devices.hostname END"))
    }

    // MARK: inventory

    struct InventoryRow {
        let document: InventoryDocument
        let softwareSet: DocumentPreparation.SoftwareSet
        let uploadID: String
        let snapshotText: [UInt8]
    }

    static let inventoryColumns = [
        "os", "kernel", "architecture", "virtualization", "cpu_model", "cpu_cores", "cpu_threads", "memory_bytes",
        "storage_bytes", "software_count", "software_set", "inventory_at",
    ]

    /// A batch of inventories in a few statements, however many documents: devices, snapshots,
    /// the sets not seen before, and their packages.
    func write(_ inventories: [InventoryRow]) async throws {
        guard !inventories.isEmpty else { return }
        // One upsert per round; a device that comes twice in the batch goes again in the next round
        // (one statement may not change a row twice, and the newest must win by its time, not its place).
        var rounds: [[InventoryRow]] = []
        var occurrences: [String: Int] = [:]
        for row in inventories {
            let round = occurrences[row.document.header.device.id, default: 0]
            occurrences[row.document.header.device.id] = round + 1
            if round == rounds.count { rounds.append([]) }
            rounds[round].append(row)
        }
        for round in rounds { try await upsertDevices(round) }
        let snapshots = database.insert(into: "inventory_snapshots").columns(
            "upload_id", "device_id", "collected_at", "software_count", "software_set", "document")
        for row in inventories {
            snapshots.values(
                SQLBind(row.uploadID), SQLBind(row.document.header.device.id), SQLBind(row.document.header.collectedAt),
                SQLBind(row.softwareSet.count), SQLBind(row.softwareSet.id), SQLBind(String(decoding: row.snapshotText, as: UTF8.self)))
        }
        try await snapshots.run()
        // A set seen before (another server of the same image, or this one unchanged) costs nothing more.
        var sets: [String: DocumentPreparation.SoftwareSet] = [:]
        for row in inventories { sets[row.softwareSet.id] = row.softwareSet }
        let newSets = database.insert(into: "software_sets").columns("set_id", "package_count")
        for set in sets.values { newSets.values(SQLBind(set.id), SQLBind(set.count)) }
        let fresh = try await newSets.ignoringConflicts(with: ["set_id"]).returning("set_key", "set_id").all()
        for row in fresh {
            guard let set = sets[try row.decode(column: "set_id", as: String.self)] else { continue }
            // The rows travel as one bound JSON array that the database unpacks itself. The set is
            // new to this tenant (its row was just added, in this transaction): nothing to conflict with.
            let key = try row.decode(column: "set_key", as: Int64.self)
            let elements = selectRows(leading: [SQLBind(key)], from: set.rowsJSON, as: [.text, .text, .text, .text, .text])
            try await database.raw("INSERT INTO software_set_packages (set_key, name, version, architecture, source, vendor) \(elements)").run()
        }
    }

    /// The devices' sighting times always; their inventory columns only where this snapshot is the
    /// newest (an older one that arrives late is history only).
    private func upsertDevices(_ rows: [InventoryRow]) async throws {
        let newer = "devices.inventory_at IS NULL OR excluded.inventory_at >= devices.inventory_at"
        let devices = database.insert(into: "devices").columns(["device_id", "hostname", "fqdn", "first_seen", "last_seen"] + Self.inventoryColumns)
        for row in rows {
            let inventory = row.document
            let header = inventory.header
            let os = inventory.system.os.prettyName ?? [inventory.system.os.name, inventory.system.os.version].compactMap { $0 }.joined(separator: " ")
            let storage = inventory.disks.reduce(Int64(0)) { $0 + $1.sizeBytes }
            devices.values(
                SQLBind(header.device.id), SQLBind(header.device.hostname), SQLBind(header.device.fqdn), SQLBind(header.collectedAt),
                SQLBind(header.collectedAt),
                SQLBind(os), SQLBind(inventory.system.kernelRelease), SQLBind(inventory.system.architecture), SQLBind(inventory.system.virtualization.machine),
                SQLBind(inventory.cpu.model), SQLBind(inventory.cpu.cores), SQLBind(inventory.cpu.threads), SQLBind(inventory.memory.totalBytes),
                SQLBind(storage), SQLBind(row.softwareSet.count), SQLBind(row.softwareSet.id), SQLBind(header.collectedAt))
        }
        try await devices.onConflict(with: ["device_id"]) { update in
            var update = Self.sightings(update)
            for column in Self.inventoryColumns {
                update = update.set(SQLIdentifier(column), to: SQLRaw("CASE WHEN \(newer) THEN excluded.\(column) ELSE devices.\(column) END"))
            }
            return update
        }.run()
    }

    enum RowField { case text, integer }

    /// `SELECT <leading values>, element 0, element 1, … FROM <one bound JSON array of rows>`: the
    /// dialect's own way to unpack many rows from one parameter (`json_each` on SQLite,
    /// `jsonb_array_elements` on PostgreSQL, which also needs integers cast).
    func selectRows(leading: [SQLBind], from json: String, as fields: [RowField]) -> SQLQueryString {
        let postgres = database.isPostgreSQL
        var query: SQLQueryString = "SELECT "
        for value in leading {
            query.appendInterpolation(value)
            query.appendLiteral(", ")
        }
        for (index, field) in fields.enumerated() {
            if index > 0 { query.appendLiteral(", ") }
            switch (postgres, field) {
            case (true, .integer): query.appendLiteral("(e->>\(index))::bigint")
            case (true, .text): query.appendLiteral("e->>\(index)")
            case (false, _): query.appendLiteral("value->>\(index)")
            }
        }
        query.appendLiteral(" FROM ")
        if postgres {
            // jsonb: parsed once, where json re-reads each element's text for every field taken
            // from it (measured with psql for a 729-package set: 3.6 ms against 5.4 ms).
            query.appendLiteral("jsonb_array_elements(")
            query.appendInterpolation(bind: json)
            query.appendLiteral("::jsonb) AS e")
        } else {
            query.appendLiteral("json_each(")
            query.appendInterpolation(bind: json)
            query.appendLiteral(")")
        }
        return query
    }

    // MARK: consumption

    func write(_ document: ConsumptionDocument) async throws {
        let header = document.header
        let buckets = document.bucketStarts
        // Bucket layout, series lengths and sizes were checked by `DocumentPreparation.prepare`.
        let all = DocumentPreparation.series(document)
        try await touchDevice(header)
        // All samples in one statement, as one bound JSON array the database unpacks.
        let stored = all.filter { $0.metric.utf8.count <= 300 }
        let metrics = stored.map(\.metric)
        var rows = JSONArrayWriter()
        for series in stored {
            for index in buckets.indices {
                rows.row(series.metric, [buckets[index], series.avg[index], series.p95[index], series.max[index]])
            }
        }
        var inserted = 0
        var offered = 0
        if !metrics.isEmpty {
            offered = metrics.count * buckets.count
            let elements = selectRows(
                leading: [SQLBind(header.device.id), SQLBind(document.bucketSeconds)], from: rows.text,
                as: [.text, .integer, .integer, .integer, .integer])
            let insert: SQLQueryString = """
                INSERT INTO samples (device_id, bucket_seconds, metric, bucket_start, avg, p95, max) \(elements) WHERE true
                ON CONFLICT (device_id, metric, bucket_start) DO NOTHING
                """
            if database.isPostgreSQL {
                inserted =
                    try await database.raw("WITH inserted AS (\(insert) RETURNING 1) SELECT COUNT(*) AS n FROM inserted").first()?.decode(
                        column: "n", as: Int.self) ?? 0
            } else {
                try await database.raw(insert).run()
                inserted = try await database.raw("SELECT changes() AS n").first()?.decode(column: "n", as: Int.self) ?? 0
            }
        }
        try await write(document.connections, header: header)
        // ING-3: the days these buckets touch are summarised again, from every sample of those days.
        guard let first = buckets.min(), let last = buckets.max(), !metrics.isEmpty else { return }
        let (from, to) = (Self.dayStart(first), Self.dayStart(last) + 86_400)
        // When every sample of those days is one this document just added (the usual case: a new
        // day, or a device's first document), the summary is the document's own: no re-reading.
        if inserted == offered, try await storedSamples(device: header.device.id, metrics: metrics, from: from, to: to) == offered {
            var days: [String: [Int64: DaySummary]] = [:]
            for series in stored {
                for (index, bucket) in buckets.enumerated() {
                    days[series.metric, default: [:]][Self.dayStart(bucket), default: DaySummary()].add(
                        average: series.avg[index], high: series.p95[index], peak: series.max[index])
                }
            }
            try await storeDailyUsage(device: header.device.id, days: days)
        } else {
            try await rollUp(device: header.device.id, metrics: metrics, from: from, to: to)
        }
    }

    func storedSamples(device: String, metrics: [String], from start: Int64, to end: Int64) async throws -> Int {
        try await database.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("samples")
            .where("device_id", .equal, device).where("metric", .in, SQLBind.group(metrics))
            .where("bucket_start", .greaterThanOrEqual, start).where("bucket_start", .lessThan, end)
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }

    /// The UTC midnight at or before a time, in seconds.
    static func dayStart(_ time: Int64) -> Int64 { time - time % 86_400 }

    /// One metric's day: the buckets' averages, their 95th percentiles and the peak.
    struct DaySummary {
        var averages: [Int64] = []
        var highs: [Int64] = []
        var peak = Int64.min

        mutating func add(average: Int64, high: Int64, peak value: Int64) {
            averages.append(average)
            highs.append(high)
            peak = max(peak, value)
        }
    }

    /// Summarises the days from every stored sample of them.
    func rollUp(device: String, metrics: [String], from start: Int64, to end: Int64) async throws {
        let rows = try await database.select().columns("metric", "bucket_start", "avg", "p95", "max").from("samples")
            .where("device_id", .equal, device).where("metric", .in, SQLBind.group(metrics))
            .where("bucket_start", .greaterThanOrEqual, start).where("bucket_start", .lessThan, end).all()
        var days: [String: [Int64: DaySummary]] = [:]
        for row in rows {
            let metric = try row.decode(column: "metric", as: String.self)
            let bucket = try row.decode(column: "bucket_start", as: Int64.self)
            days[metric, default: [:]][Self.dayStart(bucket), default: DaySummary()].add(
                average: try row.decode(column: "avg", as: Int64.self), high: try row.decode(column: "p95", as: Int64.self),
                peak: try row.decode(column: "max", as: Int64.self))
        }
        try await storeDailyUsage(device: device, days: days)
    }

    func storeDailyUsage(device: String, days: [String: [Int64: DaySummary]]) async throws {
        guard !days.isEmpty else { return }
        func percentile(_ sorted: [Int64], _ p: Double) -> Int64 { sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))] }
        let insert = database.insert(into: "daily_usage").columns("device_id", "day", "metric", "p50", "p95", "max", "buckets")
        for (metric, byDay) in days {
            for (dayStart, summary) in byDay {
                let day = ISO8601DateFormatter.string(from: Date(timeIntervalSince1970: TimeInterval(dayStart)), timeZone: .gmt, formatOptions: [.withFullDate])
                insert.values(
                    SQLBind(device), SQLBind(day), SQLBind(metric), SQLBind(percentile(summary.averages.sorted(), 0.5)),
                    SQLBind(percentile(summary.highs.sorted(), 0.95)), SQLBind(summary.peak), SQLBind(summary.averages.count))
            }
        }
        try await insert.onConflict(with: ["device_id", "day", "metric"]) { update in
            update.set(excludedValueOf: "p50").set(excludedValueOf: "p95").set(excludedValueOf: "max").set(excludedValueOf: "buckets")
        }.run()
    }

    // MARK: connections

    func write(_ document: ConnectionsDocument) async throws {
        try await touchDevice(document.header)
        try await write(document.connections, header: document.header)
    }

    func write(_ connections: [Connection], header: DocumentHeader) async throws {
        for start in stride(from: 0, to: connections.count, by: 300) {
            let insert = database.insert(into: "connections")
                .columns(
                    "device_id", "direction", "process", "local_port", "remote_address", "remote_port", "is_database", "first_seen", "last_seen", "observations"
                )
            var keys = Set<String>()
            var any = false
            for connection in connections[start..<min(start + 300, connections.count)] {
                let process = String((connection.process ?? "").prefix(200))
                // One row per key within a statement: PostgreSQL refuses to update a row twice.
                guard
                    keys.insert("\(connection.direction.rawValue)|\(process)|\(connection.localPort)|\(connection.remoteAddress)|\(connection.remotePort)")
                        .inserted
                else { continue }
                any = true
                insert.values(
                    SQLBind(header.device.id), SQLBind(connection.direction.rawValue), SQLBind(process), SQLBind(connection.localPort),
                    SQLBind(String(connection.remoteAddress.prefix(64))), SQLBind(connection.remotePort), SQLBind(connection.database),
                    SQLBind(connection.firstSeen), SQLBind(connection.lastSeen), SQLBind(Int64(connection.count)))
            }
            guard any else { continue }
            try await insert.onConflict(with: ["device_id", "direction", "process", "local_port", "remote_address", "remote_port"]) { update in
                update.set(
                    "first_seen", to: SQLRaw("CASE WHEN excluded.first_seen < connections.first_seen THEN excluded.first_seen ELSE connections.first_seen END")
                )
                .set("last_seen", to: SQLRaw("CASE WHEN excluded.last_seen > connections.last_seen THEN excluded.last_seen ELSE connections.last_seen END"))
                .set("observations", to: SQLRaw("connections.observations + excluded.observations"))
            }.run()
        }
    }
}

extension DocumentPreparation.SoftwareSet {
    /// The set's rows, a repeat of a (name, architecture, version) dropped (the first one is kept):
    /// the table has no unique index over them to do it (T004).
    var rowsJSON: String {
        struct Identity: Hashable {
            let name: String
            let architecture: String
            let version: String
        }
        var seen = Set<Identity>(minimumCapacity: software.count)
        var rows = JSONArrayWriter()
        for index in 0..<software.count {
            let architecture = software.architecture[index] ?? ""
            guard seen.insert(Identity(name: software.name[index], architecture: architecture, version: software.version[index])).inserted else { continue }
            rows.row([software.name[index], software.version[index], architecture, software.source[index].rawValue, software.vendor[index]])
        }
        return rows.text
    }
}

/// Rows of strings as one JSON array of arrays (RFC 8259 §7 escaping), for a database to unpack.
struct JSONArrayWriter {
    private(set) var bytes: [UInt8] = [UInt8(ascii: "[")]
    private var rowCount = 0

    var text: String { String(decoding: bytes + [UInt8(ascii: "]")], as: UTF8.self) }

    /// A row of one string and some integers.
    mutating func row(_ label: String, _ numbers: [Int64]) {
        if rowCount > 0 { bytes.append(UInt8(ascii: ",")) }
        rowCount += 1
        bytes.append(UInt8(ascii: "["))
        appendString(label)
        for number in numbers {
            bytes.append(UInt8(ascii: ","))
            bytes.append(contentsOf: String(number).utf8)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func row(_ values: [String?]) {
        if rowCount > 0 { bytes.append(UInt8(ascii: ",")) }
        rowCount += 1
        bytes.append(UInt8(ascii: "["))
        for (position, value) in values.enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let value else {
                bytes.append(contentsOf: "null".utf8)
                continue
            }
            appendString(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    private mutating func appendString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)],
                ])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
