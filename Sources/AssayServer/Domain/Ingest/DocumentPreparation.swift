import AssayModel
import Crypto
import Foundation
import StrictJSON

/// The CPU-heavy half of ingest (ING-1), before any database: one decrypted bot document read
/// strictly, decoded, checked against every rule, and made ready for `TenantWriter`. A document
/// that breaks a rule is refused here with the reason, so a write never half-happens over it.
public enum DocumentPreparation {
    enum Rejection: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case futureSchema(Int)
        case invalid(String)

        var description: String {
            switch self {
            case .malformed(let reason): "not a valid bot document: \(reason)"
            case .futureSchema(let version): "document schema \(version) is newer than this service understands (\(Schema.version)); upgrade the service"
            case .invalid(let reason): "the document breaks a rule: \(reason)"
            }
        }
    }

    private struct Probe: Decodable {
        struct Header: Decodable {
            let schema: Int
            let kind: String
        }
        let header: Header
    }

    public static func decode(_ plaintext: [UInt8]) throws -> (DocumentKind, any Sendable) {
        let (kind, document, _) = try decodeLocatingMembers(plaintext)
        return (kind, document)
    }

    /// The document, and where its top-level members lie in the text.
    static func decodeLocatingMembers(_ plaintext: [UInt8]) throws -> (DocumentKind, any Sendable, [String: Range<Int>]) {
        // One strict parse (no duplicate keys, valid UTF-8, bounded depth), then typed decoding of the tree.
        let tree: JSONValue
        let members: [String: Range<Int>]
        do { (tree, members) = try JSONReader().parseRecordingMembers(plaintext) } catch { throw Rejection.malformed(error.description) }
        let decoder = JSONValueDecoder()
        let probe: Probe
        do { probe = try decoder.decode(Probe.self, from: tree) } catch { throw Rejection.malformed("no document header (\(Self.describe(error)))") }
        guard probe.header.schema >= 1 else { throw Rejection.malformed("schema \(probe.header.schema)") }
        guard probe.header.schema <= Schema.version else { throw Rejection.futureSchema(probe.header.schema) }
        guard let kind = DocumentKind(rawValue: probe.header.kind) else { throw Rejection.malformed("unknown kind \(probe.header.kind.prefix(40))") }
        do {
            switch kind {
            case .inventory: return (kind, try decoder.decode(InventoryDocument.self, from: tree), members)
            case .consumption: return (kind, try decoder.decode(ConsumptionDocument.self, from: tree), members)
            case .connections: return (kind, try decoder.decode(ConnectionsDocument.self, from: tree), members)
            }
        } catch {
            throw Rejection.malformed(Self.describe(error))
        }
    }

    /// A decoding error in words: the path and what was wrong, never the data.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "invalid JSON" }
        func path(_ context: DecodingError.Context) -> String { context.codingPath.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, let context): return "missing \(path(context)).\(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context))"
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "invalid JSON" : "invalid value at \(path(context))"
        @unknown default: return "invalid JSON"
        }
    }

    static func validate(_ header: DocumentHeader) throws {
        let id = header.device.id
        guard (1...128).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw Rejection.invalid("device id must be 1 to 128 letters, digits or dashes")
        }
        guard (1...255).contains(header.device.hostname.utf8.count), (header.device.fqdn?.utf8.count ?? 0) <= 255 else {
            throw Rejection.invalid("host name must be 1 to 255 bytes")
        }
        guard header.collectedAt > 0, header.collectedAt < 4_102_444_800 else { throw Rejection.invalid("collection time out of range") }
    }

    /// A decoded, checked document, ready to be written: the CPU-heavy half of ingest, done before
    /// (and outside) the tenant database's write lock.
    public struct Prepared: Sendable {
        let uploadID: UUID
        let receivedAt: Date
        let kind: DocumentKind
        let header: DocumentHeader
        let document: any Sendable
        /// Inventory only: the document as sent, its `software` member cut down to the set's id
        /// (the rows are the set's): a snapshot's history without a copy of every package list.
        let snapshotText: [UInt8]
        /// Inventory only: the content address of its software set and its rows as JSON.
        let softwareSet: SoftwareSet?
    }

    /// A device's packages as the tenant stores them: once per distinct set, by SHA-256 of its rows.
    /// The rows are hashed as they stand; their JSON for the database is only built for a set the
    /// tenant has not seen (most are: servers of one image share one).
    struct SoftwareSet: Sendable {
        let id: String
        let software: SoftwareInventory
        var count: Int { software.count }

        init(_ software: SoftwareInventory) {
            self.software = software
            // Every field tagged (absent or present) and length-prefixed, so that no two different
            // sets hash the same bytes; gathered first, hashed in one call.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(software.count * 64)
            func feed(_ field: String?) {
                guard let field else {
                    bytes.append(0)
                    return
                }
                bytes.append(1)
                withUnsafeBytes(of: UInt64(field.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: field.utf8)
            }
            for index in 0..<software.count {
                feed(software.name[index])
                feed(software.version[index])
                feed(software.architecture[index] ?? "")
                feed(software.source[index].rawValue)
                feed(software.vendor[index])
            }
            id = "sha256:" + lowercaseHex(SHA256.hash(data: bytes))
        }
    }

    public static func prepare(_ plaintext: [UInt8], uploadID: UUID, receivedAt: Date) throws -> Prepared {
        let (kind, document, members) = try Self.decodeLocatingMembers(plaintext)
        let header: DocumentHeader
        switch document {
        case let inventory as InventoryDocument: header = inventory.header
        case let consumption as ConsumptionDocument: header = consumption.header
        case let connections as ConnectionsDocument: header = connections.header
        default: throw Rejection.malformed("unknown document")
        }
        try Self.validate(header)
        switch document {
        case let consumption as ConsumptionDocument: try Self.validate(consumption)
        case let connections as ConnectionsDocument: try Self.validate(connections.connections)
        default: break
        }
        var softwareSet: SoftwareSet?
        var snapshotText: [UInt8] = []
        if let inventory = document as? InventoryDocument {
            guard inventory.software.columnsAgree else { throw Rejection.invalid("software columns differ in length") }
            let set = SoftwareSet(inventory.software)
            softwareSet = set
            snapshotText = plaintext
            if let software = members["software"] { snapshotText.replaceSubrange(software, with: Array("\"\(set.id)\"".utf8)) }
        }
        return Prepared(
            uploadID: uploadID, receivedAt: receivedAt, kind: kind, header: header, document: document,
            snapshotText: snapshotText, softwareSet: softwareSet)
    }

    static let maxSamplesPerDocument = 1_000_000

    /// Buckets and series agree, and nothing is larger than a scan of 90 days makes.
    static func validate(_ document: ConsumptionDocument, maxSamples: Int = maxSamplesPerDocument) throws {
        guard document.bucketStarts.count <= 100_000, document.bucketSeconds > 0 else { throw Rejection.invalid("bucket layout") }
        let buckets = document.bucketStarts.count
        let all = series(document)
        // A day of one-minute buckets for a large server is ~60,000 samples; a document may carry
        // at most a million, however its series and buckets multiply.
        guard all.count * buckets <= maxSamples else {
            throw Rejection.invalid("\(all.count) series × \(buckets) buckets is more than \(maxSamples) samples")
        }
        for series in all where series.avg.count != buckets || series.p95.count != buckets || series.max.count != buckets {
            throw Rejection.invalid("series \(series.metric.prefix(80)) does not match the buckets")
        }
        try validate(document.connections)
    }

    static func validate(_ connections: [Connection]) throws {
        guard connections.count <= 100_000 else { throw Rejection.invalid("too many connections") }
    }

    /// One metric of a consumption document: per bucket, the average, 95th percentile and peak.
    struct MetricSeries {
        let metric: String
        let avg: [Int64]
        let p95: [Int64]
        let max: [Int64]
    }

    /// Every series of a consumption document under its metric name (`disk:sda:read_iops` …).
    static func series(_ document: ConsumptionDocument) -> [MetricSeries] {
        func stat(_ metric: String, _ series: StatSeries) -> MetricSeries { MetricSeries(metric: metric, avg: series.avg, p95: series.p95, max: series.max) }
        var all = [
            stat("cpu", document.cpu), stat("memory_used_bytes", document.memoryUsedBytes), stat("memory_available_bytes", document.memoryAvailableBytes),
        ]
        for disk in document.disks {
            all += [
                stat("disk:\(disk.name):read_iops", disk.readIOPS), stat("disk:\(disk.name):write_iops", disk.writeIOPS),
                stat("disk:\(disk.name):read_bps", disk.readBytesPerSecond), stat("disk:\(disk.name):write_bps", disk.writeBytesPerSecond),
            ]
        }
        for filesystem in document.filesystems {
            all.append(
                MetricSeries(metric: "fs:\(filesystem.mountPoint):used_bytes", avg: filesystem.usedBytes, p95: filesystem.usedBytes, max: filesystem.usedBytes))
        }
        for interface in document.interfaces {
            all += [stat("net:\(interface.name):rx_bps", interface.rxBytesPerSecond), stat("net:\(interface.name):tx_bps", interface.txBytesPerSecond)]
        }
        return all
    }
}
