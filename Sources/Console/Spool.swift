import Foundation
import OpenPGP
import Synchronization

/// Fetched files waiting for upload (CON-6), still encrypted: `spool/<sha256>.pgp` beside
/// `spool/<sha256>.json` (which device, what kind, when). A file is written whole (fsync, rename)
/// before the remote copy is removed, and leaves the spool only once the service acknowledged it.
public struct Spool: Sendable {
    public let state: StateDirectory
    /// The largest file a device may hand over: an inventory is ~10 KB, a day of samples ~5 KB.
    public static let maxFileBytes = 16 << 20
    /// What the spool may hold in all (`assay settings --spool-budget`): past it, nothing more is
    /// fetched until uploads make room, so devices cannot fill the console's disk.
    public var budgetBytes = 4 << 30
    /// Refused files are kept this long for a person to look at, then removed.
    public static let rejectedKeptFor: TimeInterval = 30 * 86_400

    /// What this process believes the spool holds: counted from the directory once, then kept up
    /// to date by `add`, so that 32 devices each handing over files do not list the spool per file.
    private let usage = Usage()

    final class Usage: Sendable {
        private let bytes = Mutex<Int?>(nil)

        /// Reserves `count` bytes within `budget`, counting the spool with `measure` the first time.
        func reserve(_ count: Int, budget: Int, measure: () -> Int) throws(Refusal) {
            try bytes.withLock { (held: inout Int?) throws(Refusal) in
                let used = held ?? measure()
                guard used + count <= budget else {
                    held = used
                    throw .overBudget(used: used, budget: budget)
                }
                held = used + count
            }
        }
    }

    public init(state: StateDirectory) { self.state = state }

    public struct Metadata: Codable, Sendable, Equatable {
        public let sha256: String
        public let device: String
        public let kind: String
        public let bytes: Int
        public let fetchedAt: Date
    }

    public struct Item: Sendable {
        public let metadata: Metadata
        public let file: URL
    }

    public enum Refusal: Error, CustomStringConvertible, Sendable {
        case tooLarge(Int)
        case notEncrypted(String)
        case wrongRecipient
        case overBudget(used: Int, budget: Int)

        public var description: String {
            switch self {
            case .tooLarge(let bytes): "the device sent \(bytes) bytes, more than \(Spool.maxFileBytes >> 20) MiB: not kept"
            case .notEncrypted(let why): "the device sent something that is not an encrypted OpenPGP message (\(why)): not kept"
            case .wrongRecipient: "the device sent a message encrypted to another key than the tenant's: not kept"
            case .overBudget(let used, let budget):
                "the spool holds \(used >> 20) MiB of its \(budget >> 20) MiB budget: nothing more is fetched until `assay upload` makes room (left on the device)"
            }
        }
    }

    /// Checks that the bytes are an OpenPGP message to the tenant's key before keeping them: a
    /// device answering garbage gets a status, and nothing of it is uploaded.
    public static func check(_ bytes: [UInt8], recipient: Certificate) throws(Refusal) {
        guard bytes.count <= maxFileBytes else { throw .tooLarge(bytes.count) }
        let recipients: [KeyID]
        do { recipients = try MessageDecryptor.recipients(of: bytes) } catch { throw .notEncrypted("\(error)") }
        let ours = Set([recipient.encryptionKey.keyID, recipient.keyID])
        guard recipients.contains(where: { ours.contains($0) }) else { throw .wrongRecipient }
    }

    /// Keeps a checked file; the same bytes twice are one file.
    @discardableResult
    public func add(_ bytes: [UInt8], device: String, kind: String, now: Date = Date()) throws -> Metadata {
        let digest = sha256Hex(bytes)
        let metadata = Metadata(sha256: digest, device: device, kind: kind, bytes: bytes.count, fetchedAt: now)
        let file = state.spool.appendingPathComponent("\(digest).pgp")
        if FileManager.default.fileExists(atPath: file.path) { return metadata }
        try usage.reserve(bytes.count, budget: budgetBytes, measure: usedBytes)
        // The description first: a file without one is still uploaded (as "unknown").
        try state.writeJSON(metadata, to: state.spool.appendingPathComponent("\(digest).json"))
        try StateDirectory.writeAtomically(Data(bytes), to: file)
        return metadata
    }

    /// Bytes of the files waiting in the spool.
    public func usedBytes() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.spool.path)) ?? []
        return names.filter { $0.hasSuffix(".pgp") }.reduce(0) { total, name in
            var info = stat()
            return total + (stat(state.spool.appendingPathComponent(name).path, &info) == 0 ? Int(info.st_size) : 0)
        }
    }

    /// Removes refused files (and their reasons) older than `rejectedKeptFor`; returns how many.
    @discardableResult
    public func pruneRejected(now: Date = Date()) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.rejected.path)) ?? []
        var removed = 0
        for name in names {
            let url = state.rejected.appendingPathComponent(name)
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date,
                now.timeIntervalSince(modified) > Self.rejectedKeptFor
            else { continue }
            if (try? FileManager.default.removeItem(at: url)) != nil, name.hasSuffix(".pgp") { removed += 1 }
        }
        return removed
    }

    /// Waiting files, oldest first.
    public func pending() throws -> [Item] {
        let names = try FileManager.default.contentsOfDirectory(atPath: state.spool.path).filter { $0.hasSuffix(".pgp") && !$0.hasPrefix(".") }
        return names.compactMap { name -> Item? in
            let digest = String(name.dropLast(4))
            guard digest.count == 64, digest.allSatisfy(\.isHexDigit) else { return nil }
            let file = state.spool.appendingPathComponent(name)
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
            let metadata =
                (try? state.readJSON(Metadata.self, from: state.spool.appendingPathComponent("\(digest).json")))
                ?? Metadata(sha256: digest, device: "unknown", kind: "unknown", bytes: size, fetchedAt: .distantPast)
            return Item(metadata: metadata, file: file)
        }.sorted { $0.metadata.fetchedAt < $1.metadata.fetchedAt }
    }

    /// Adds a file given by hand (`assay upload FILE`, the air-gapped path) after the same checks.
    public func addFile(_ url: URL, recipient: Certificate) throws -> Metadata {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = attributes[.size] as? Int ?? 0
        guard size <= Self.maxFileBytes else { throw ConsoleError.input(Refusal.tooLarge(size).description) }
        let bytes = [UInt8](try Data(contentsOf: url))
        do { try Self.check(bytes, recipient: recipient) } catch { throw ConsoleError.input("\(url.lastPathComponent): \(error)") }
        return try add(bytes, device: "file:\(url.lastPathComponent)", kind: "manual")
    }

    /// Acknowledged by the service: recorded in the upload log, then removed.
    public func acknowledge(_ item: Item, uploadID: String, now: Date = Date()) throws {
        struct LogLine: Encodable {
            let at: Date
            let sha256: String
            let uploadID: String
            let device: String
            let kind: String
            let bytes: Int
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(
            LogLine(
                at: now, sha256: item.metadata.sha256, uploadID: uploadID, device: item.metadata.device, kind: item.metadata.kind, bytes: item.metadata.bytes))
        line.append(0x0A)
        let descriptor = open(state.uploadLog.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ConsoleError.state("cannot append to \(state.uploadLog.path)") }
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
        fsync(descriptor)
        close(descriptor)
        try? FileManager.default.removeItem(at: item.file)
        try? FileManager.default.removeItem(at: state.spool.appendingPathComponent("\(item.metadata.sha256).json"))
        StateDirectory.syncDirectory(of: item.file)
    }

    /// Refused by the service for good: moved aside with the reason, never deleted.
    public func reject(_ item: Item, reason: String) throws {
        let target = state.rejected.appendingPathComponent(item.file.lastPathComponent)
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.moveItem(at: item.file, to: target)
        try Data((reason + "\n").utf8).write(to: state.rejected.appendingPathComponent("\(item.metadata.sha256).reason.txt"))
        try? FileManager.default.removeItem(at: state.spool.appendingPathComponent("\(item.metadata.sha256).json"))
    }
}
