import CoreFoundation
import Crypto
import Foundation

/// The operator's key-encryption key (KEY-3): 256 bits that wrap every tenant secret key with
/// AES-256-GCM. It lives outside the database — a file only its owner can read, or an environment
/// variable — so a copy of the catalog alone opens nothing. Its id (a hash, not the key) is stored
/// beside each wrapped key, so that `key rotate-kek` knows what to re-wrap.
public struct KeyEncryptionKey: Sendable {
    public let id: String
    let key: SymmetricKey

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unreadable(String)
        case tooOpen(String, mode: String)
        case malformed(String)
        case missing

        public var description: String {
            switch self {
            case .unreadable(let path): "the key-encryption key file \(path) cannot be read"
            case .tooOpen(let path, let mode): "the key-encryption key file \(path) has mode \(mode): it must be readable by its owner only (chmod 600)"
            case .malformed(let source): "\(source) must hold 32 random bytes in base64 (openssl rand -base64 32)"
            case .missing: "production needs ASSAY_KEK_FILE (or ASSAY_KEK): the key that wraps tenant secret keys"
            }
        }
    }

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw Failure.malformed("a key-encryption key") }
        key = SymmetricKey(data: bytes)
        let digest = SHA256.hash(data: Array("assay key-encryption key id".utf8) + bytes)
        id = "kek-" + digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads a base64 key from `path`, refusing a file that group or others can read.
    public init(file path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0, let data = FileManager.default.contents(atPath: path) else { throw Failure.unreadable(path) }
        guard info.st_mode & 0o077 == 0 else { throw Failure.tooOpen(path, mode: String(info.st_mode & 0o777, radix: 8)) }
        try self.init(base64: String(decoding: data, as: UTF8.self), source: path)
    }

    public init(base64 text: String, source: String) throws {
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw Failure.malformed(source) }
        try self.init(bytes: Array(bytes))
    }

    /// The embedded default: a key generated once beside the SQLite catalog, mode 0600.
    public static func loadOrCreate(file path: String) throws -> KeyEncryptionKey {
        if FileManager.default.fileExists(atPath: path) { return try KeyEncryptionKey(file: path) }
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((Data(bytes).base64EncodedString() + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else { throw Failure.unreadable(path) }
        return try KeyEncryptionKey(bytes: bytes)
    }

    /// AES-256-GCM; `context` (tenant and key fingerprint) is authenticated, so a wrapped key moved
    /// to another tenant's row fails its integrity check.
    func wrap(_ secret: [UInt8], context: String) throws -> [UInt8] {
        let sealed = try AES.GCM.seal(secret, using: key, authenticating: Array(context.utf8))
        return Array(sealed.combined!)
    }

    func unwrap(_ wrapped: [UInt8], context: String) throws -> [UInt8] {
        let box = try AES.GCM.SealedBox(combined: wrapped)
        return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
    }
}

/// The current key-encryption key, and the previous one during a rotation.
public struct KeyEncryptionKeys: Sendable {
    public let current: KeyEncryptionKey
    public let previous: KeyEncryptionKey?

    public init(current: KeyEncryptionKey, previous: KeyEncryptionKey? = nil) {
        self.current = current
        self.previous = previous
    }

    func key(id: String) -> KeyEncryptionKey? {
        [current, previous].compactMap { $0 }.first { $0.id == id }
    }

    /// ASSAY_KEK_FILE or ASSAY_KEK (base64); ASSAY_KEK_PREVIOUS_FILE during a rotation. In
    /// development without either, a key file in the data directory is made once.
    public static func load(configuration: ServerConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KeyEncryptionKeys
    {
        let current: KeyEncryptionKey
        if let path = configuration.kekFile {
            current = try KeyEncryptionKey(file: path)
        } else if let value = environment["ASSAY_KEK"], !value.isEmpty {
            current = try KeyEncryptionKey(base64: value, source: "ASSAY_KEK")
        } else if configuration.mode == .development {
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            current = try KeyEncryptionKey.loadOrCreate(file: configuration.dataDirectory + "/kek")
        } else {
            throw KeyEncryptionKey.Failure.missing
        }
        let previous = try configuration.previousKEKFile.map { try KeyEncryptionKey(file: $0) }
        return KeyEncryptionKeys(current: current, previous: previous)
    }
}
