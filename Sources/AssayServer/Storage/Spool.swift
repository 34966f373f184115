import Foundation

/// Where acknowledged upload bodies wait for the workers (ING-1). A small interface, so that an
/// S3-compatible object store can stand in for the local directory later.
public protocol SpoolStore: Sendable {
    /// Stores `bytes` under `key` durably: when this returns, a power cut does not lose them.
    func put(_ bytes: [UInt8], key: String) throws
    func get(_ key: String) throws -> [UInt8]
    func exists(_ key: String) -> Bool
    /// Removes a body whose upload is ingested or expired; a missing one is no error.
    func delete(_ key: String) throws
    /// Stores several bodies, durable when it returns; a store may share its syncs among them.
    func putAll(_ items: [(key: String, bytes: [UInt8])]) throws
}

extension SpoolStore {
    public func putAll(_ items: [(key: String, bytes: [UInt8])]) throws {
        for item in items { try put(item.bytes, key: item.key) }
    }
}

/// The local directory: each body is written beside its name, fsynced, renamed, and the directory
/// fsynced, so a crash leaves either nothing or the whole file, never a part under the real name.
public struct LocalSpool: SpoolStore {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Keys are "<tenant>/<sha256>": nothing from a request reaches a path unchecked.
    static func validate(_ key: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-/")
        guard key.count <= 120, key.allSatisfy(allowed.contains), !key.contains(".."), !key.hasPrefix("/") else {
            throw Failure(description: "invalid spool key")
        }
    }

    public func put(_ bytes: [UInt8], key: String) throws {
        try putAll([(key, bytes)])
    }

    /// Each file is written beside its name, fsynced and renamed; then each directory that gained
    /// a name is fsynced once for all of them (without a journal, the new names are only durable then).
    public func putAll(_ items: [(key: String, bytes: [UInt8])]) throws {
        var folders = Set<String>()
        for (key, bytes) in items {
            try Self.validate(key)
            let path = directory + "/" + key
            let folder = (path as NSString).deletingLastPathComponent
            if !folders.contains(folder) {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            try Self.writeSynced(bytes, to: path)
            folders.insert(folder)
        }
        for folder in folders {
            let dirFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dirFD >= 0 else { throw Failure(description: "cannot open a spool directory (errno \(errno))") }
            defer { close(dirFD) }
            guard fsync(dirFD) == 0 else { throw Failure(description: "cannot fsync a spool directory (errno \(errno))") }
        }
    }

    private static func writeSynced(_ bytes: [UInt8], to path: String) throws {
        let partial = path + ".partial-\(UUID().uuidString.prefix(8))"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create a spool file (errno \(errno))") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            guard result > 0 else {
                close(fd)
                unlink(partial)
                throw Failure(description: "cannot write a spool file (errno \(errno))")
            }
            written += result
        }
        guard fsync(fd) == 0 else {
            close(fd)
            unlink(partial)
            throw Failure(description: "cannot fsync a spool file (errno \(errno))")
        }
        close(fd)
        guard rename(partial, path) == 0 else {
            unlink(partial)
            throw Failure(description: "cannot rename a spool file (errno \(errno))")
        }
    }

    public func get(_ key: String) throws -> [UInt8] {
        try Self.validate(key)
        guard let data = FileManager.default.contents(atPath: directory + "/" + key) else {
            throw Failure(description: "the spooled upload is missing")
        }
        return Array(data)
    }

    public func exists(_ key: String) -> Bool {
        (try? Self.validate(key)) != nil && FileManager.default.fileExists(atPath: directory + "/" + key)
    }

    public func delete(_ key: String) throws {
        try Self.validate(key)
        guard unlink(directory + "/" + key) == 0 || errno == ENOENT else {
            throw Failure(description: "the spooled upload cannot be removed (errno \(errno))")
        }
    }
}
