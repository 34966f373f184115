import ArgumentParser
import AssayModel
import FoundationEssentials
import OpenPGP
import Probes

#if canImport(Glibc)
    import Glibc
#endif

/// Reading keys, encoding documents and writing files, the one way the bot does it: a file only
/// ever receives an OpenPGP message (KEY-2), written beside its name and renamed when complete.
enum BotIO {
    static func header(_ kind: DocumentKind, now: Int64) -> DocumentHeader {
        let device = MachineProbe.deviceIdentity(.live, warnings: WarningLog())
        return DocumentHeader(kind: kind, botVersion: BotCommand.version, collectedAt: now, device: device)
    }

    static func loadRecipient(_ path: String) throws -> Certificate {
        guard let bytes = SystemSource.live.read(path, limit: 1 << 20) else {
            throw ValidationError("cannot read the recipient key \(path)")
        }
        return try Certificate(importing: bytes)
    }

    static func encode<T: Encodable>(_ document: T, pretty: Bool) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.withoutEscapingSlashes]
        return Array(try encoder.encode(document))
    }

    /// Dry run (JSON on stdout) without a recipient; otherwise the encrypted message to stdout or a file.
    static func deliver<T: Encodable>(_ document: T, recipient: Certificate?, out: String?) throws {
        guard let recipient else {
            var json = try encode(document, pretty: true)
            json.append(0x0A)
            try writeAll(1, json)
            return
        }
        let message = try MessageEncryptor.encrypt(try encode(document, pretty: false), to: [recipient], compressionLevel: 9)
        if let out {
            try writeAtomically(message, to: out)
        } else {
            try writeAll(1, message)
        }
    }

    static func writeSpoolFile<T: Encodable>(_ document: T, recipient: Certificate, directory: String, name: String, maxSpool: Int) throws {
        let message = try MessageEncryptor.encrypt(try encode(document, pretty: false), to: [recipient], compressionLevel: 9)
        let used = SystemSource.live.list(directory).reduce(0) { total, file in
            var info = stat()
            return stat(directory + "/" + file, &info) == 0 ? total + Int(info.st_size) : total
        }
        guard used + message.count <= maxSpool else {
            throw ValidationError("the out dir holds \(used) bytes; writing \(message.count) more would pass --max-spool \(maxSpool)")
        }
        try writeAtomically(message, to: directory + "/" + name)
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".partial"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
        do {
            try writeAll(descriptor, bytes)
            guard fsync(descriptor) == 0 else { throw ValidationError("fsync failed for \(path)") }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ValidationError("cannot rename into \(path): \(String(cString: strerror(errno)))")
        }
        // Make the rename itself durable.
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let directoryDescriptor = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ValidationError("write failed: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}

/// "20s", "5m", "1h", "90d" or a plain number of seconds.
enum Duration {
    static func parse(_ text: String) throws -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let (digits, multiplier): (Substring, Int) = {
            if let last = text.last, let unit = units[last] { return (text.dropLast(), unit) }
            return (text[...], 1)
        }()
        guard !digits.isEmpty, digits.count <= 9, let value = Int(digits), value > 0 else {
            throw ValidationError("\"\(text)\" is not a duration (use e.g. 20s, 5m, 1h, 90d)")
        }
        return value * multiplier
    }
}

/// "50MB", "512KB", "1GB" (decimal units) or a plain number of bytes.
enum ByteSize {
    static func parse(_ text: String) throws -> Int {
        let units: [(String, Int)] = [("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000), ("B", 1)]
        let upper = text.uppercased()
        let (digits, multiplier) = units.first(where: { upper.hasSuffix($0.0) }).map { (upper.dropLast($0.0.count), $0.1) } ?? (upper[...], 1)
        guard !digits.isEmpty, digits.count <= 12, let value = Int(digits), value > 0 else {
            throw ValidationError("\"\(text)\" is not a size (use e.g. 50MB)")
        }
        return value * multiplier
    }
}
