import AssayModel
import CAssaySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Where probes read from: the live machine ("/"), or a directory of fixture files laid out like
/// one (tests). Every read is bounded; nothing here throws for a missing or odd file — probes
/// decide what a missing file means and record a warning.
public struct SystemSource: Sendable {
    /// Prefix for every absolute path ("" for the live system).
    public let root: String
    /// Whether commands and syscalls that only make sense live (statvfs, getifaddrs, rpm) may run.
    public let isLive: Bool

    public static let live = SystemSource(root: "", isLive: true)

    public static func fixture(_ directory: String) -> SystemSource {
        SystemSource(root: directory.hasSuffix("/") ? String(directory.dropLast()) : directory, isLive: false)
    }

    public init(root: String, isLive: Bool) {
        self.root = root
        self.isLive = isLive
    }

    public func path(_ absolute: String) -> String { root + absolute }

    /// Reads at most `limit` bytes; nil if the file cannot be opened. /proc files report size 0,
    /// so this reads until end of file rather than trusting stat.
    public func read(_ absolute: String, limit: Int = 1 << 20) -> [UInt8]? {
        let descriptor = open(path(absolute), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while out.count < limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, min($0.count, limit - out.count)) }
            if count < 0 {
                if errno == EINTR { continue }
                return out.isEmpty ? nil : out
            }
            if count == 0 { break }
            out += buffer[0..<count]
        }
        return out
    }

    public func text(_ absolute: String, limit: Int = 1 << 20) -> String? {
        read(absolute, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The first line, trimmed; nil when missing or empty.
    public func value(_ absolute: String) -> String? {
        guard let text = text(absolute, limit: 4096) else { return nil }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let trimmed = line.trimmed
        return trimmed.isEmpty ? nil : trimmed
    }

    public func exists(_ absolute: String) -> Bool {
        access(path(absolute), F_OK) == 0
    }

    /// Directory entries except "." and "..", sorted; empty when unreadable. At most `limit`.
    public func list(_ absolute: String, limit: Int = 100_000) -> [String] {
        guard let directory = opendir(path(absolute)) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while names.count < limit, let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// True when the directory can be opened (a process's fd directory needs root or its owner).
    public func canList(_ absolute: String) -> Bool {
        guard let directory = opendir(path(absolute)) else { return false }
        closedir(directory)
        return true
    }

    public func readLink(_ absolute: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path(absolute), &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Modification time in seconds since 1970, or nil.
    public func modificationTime(_ absolute: String) -> Int64? {
        var info = stat()
        guard stat(path(absolute), &info) == 0 else { return nil }
        return Int64(info.st_mtim.tv_sec)
    }

    /// Runs a program (full path) with a fixed environment and returns its standard output,
    /// bounded; nil when it cannot run or exits non-zero. Only on the live system.
    public func run(_ arguments: [String], limit: Int = 16 << 20) -> String? {
        guard isLive, let program = arguments.first, access(program, X_OK) == 0 else { return nil }
        var cArguments = arguments.map { strdup($0) }
        cArguments.append(nil)
        defer { for argument in cArguments { free(argument) } }
        var descriptor: Int32 = -1
        let pid = cArguments.withUnsafeBufferPointer { pointer in
            pointer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: pointer.count) {
                assay_spawn_reading($0, &descriptor)
            }
        }
        guard pid > 0 else { return nil }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            if out.count < limit { out += buffer[0..<min(count, limit - out.count)] }
        }
        close(descriptor)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else { return nil }
        return String(decoding: out, as: UTF8.self)
    }
}

extension StringProtocol {
    var trimmed: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}

/// Collects warnings from probes that fail alone; the scan goes on.
public final class WarningLog {
    public private(set) var warnings: [ProbeWarning] = []
    public init() {}

    public func add(_ probe: String, _ message: String) {
        guard warnings.count < 200 else { return }
        warnings.append(ProbeWarning(probe: probe, message: String(message.prefix(300))))
    }
}
