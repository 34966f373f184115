import Foundation

/// Everything the console keeps, in one owner-only directory: the tenant bundle, the sign-in
/// (`token.txt`), the device list, the spool of fetched files, the campaigns and the upload log.
/// Default `$XDG_STATE_HOME/assay` (or `~/.local/state/assay`), or `--state-dir` / `ASSAY_STATE_DIR`.
public struct StateDirectory: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit = environment["ASSAY_STATE_DIR"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return URL(fileURLWithPath: xdg).appendingPathComponent("assay") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".local/state/assay")
    }

    public var bundle: URL { root.appendingPathComponent("bundle.json") }
    public var token: URL { root.appendingPathComponent("token.txt") }
    public var devices: URL { root.appendingPathComponent("devices.json") }
    public var settings: URL { root.appendingPathComponent("settings.json") }
    public var machineID: URL { root.appendingPathComponent("machine-id") }
    public var spool: URL { root.appendingPathComponent("spool") }
    public var rejected: URL { root.appendingPathComponent("rejected") }
    public var campaigns: URL { root.appendingPathComponent("campaigns.json") }
    public var uploadLog: URL { root.appendingPathComponent("uploads.log") }
    public var sshControl: URL { root.appendingPathComponent("ssh") }

    /// Creates the directory and its folders owner-only (0700), and tightens one found looser.
    public func prepare() throws {
        for directory in [root, spool, rejected, sshControl] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard chmod(directory.path, 0o700) == 0 else { throw ConsoleError.state("cannot make \(directory.path) owner-only") }
        }
    }

    /// Writes a file whole or not at all (temporary file, fsync, rename, fsync of the directory),
    /// mode 0600: a crash leaves the old version or the new one, never half of one.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).partial")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ConsoleError.state("cannot write \(url.path): \(String(cString: strerror(errno)))") }
        var ok = true
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    ok = false
                    return
                }
                offset += written
            }
        }
        ok = ok && fsync(descriptor) == 0
        close(descriptor)
        guard ok, rename(temporary.path, url.path) == 0 else {
            unlink(temporary.path)
            throw ConsoleError.state("cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
        syncDirectory(of: url)
    }

    public static func syncDirectory(of url: URL) {
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// This console's id for the service's fingerprint (random, made once, never personal).
    public func machineIdentifier() throws -> String {
        if let text = try? String(contentsOf: machineID, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if (32...64).contains(id.count), id.allSatisfy(\.isHexDigit) { return id }
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let id = hex(bytes)
        try Self.writeAtomically(Data((id + "\n").utf8), to: machineID)
        return id
    }

    /// A JSON file of the state directory, or nil when there is none yet.
    public func readJSON<T: Decodable>(_ type: T.Type, from url: URL) throws -> T? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data = try Data(contentsOf: url)
        do { return try JSONDecoder.console.decode(type, from: data) } catch {
            throw ConsoleError.state("\(url.path) cannot be read (\(error.localizedDescription)); move it away to start afresh")
        }
    }

    /// Writes a JSON file of the state directory whole (writeAtomically).
    public func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        try Self.writeAtomically(try JSONEncoder.console.encode(value), to: url)
    }
}

extension JSONDecoder {
    static var console: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension JSONEncoder {
    static var console: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
