import Crypto

/// Public-key algorithm ids (RFC 9580 §9.1). Only RSA is implemented.
public enum PublicKeyAlgorithm: UInt8, Sendable {
    case rsaEncryptOrSign = 1
    case rsaEncryptOnly = 2
    case rsaSignOnly = 3

    var canEncrypt: Bool { self != .rsaSignOnly }
    var canSign: Bool { self != .rsaEncryptOnly }
}

/// Symmetric algorithm ids (RFC 9580 §9.3). Only AES is accepted (KEY-5).
public enum SymmetricAlgorithm: UInt8, Sendable, CaseIterable {
    case aes128 = 7
    case aes192 = 8
    case aes256 = 9

    var keySize: Int {
        switch self {
        case .aes128: 16
        case .aes192: 24
        case .aes256: 32
        }
    }

    static let blockSize = 16

    static func from(_ id: UInt8) throws(OpenPGPError) -> SymmetricAlgorithm {
        guard let algorithm = SymmetricAlgorithm(rawValue: id) else {
            throw .unsupported("symmetric algorithm \(id) (only AES-128/192/256 are accepted)")
        }
        return algorithm
    }
}

/// Hash algorithm ids (RFC 9580 §9.5).
public enum HashAlgorithm: UInt8, Sendable {
    case sha1 = 2
    case sha256 = 8
    case sha384 = 9
    case sha512 = 10

    static func from(_ id: UInt8) throws(OpenPGPError) -> HashAlgorithm {
        guard let algorithm = HashAlgorithm(rawValue: id) else {
            throw .unsupported("hash algorithm \(id)")
        }
        return algorithm
    }

    func hash(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha1: Array(Insecure.SHA1.hash(data: data))
        case .sha256: Array(SHA256.hash(data: data))
        case .sha384: Array(SHA384.hash(data: data))
        case .sha512: Array(SHA512.hash(data: data))
        }
    }

    var digestSize: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }
}

/// Compression algorithm ids (RFC 9580 §9.4). BZip2 is refused.
public enum CompressionAlgorithm: UInt8, Sendable, CaseIterable {
    case uncompressed = 0
    case zip = 1
    case zlib = 2

    public var name: String {
        switch self {
        case .uncompressed: "none"
        case .zip: "zip"
        case .zlib: "zlib"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = match
    }
}

/// A v4 key ID: the low 64 bits of the fingerprint (RFC 9580 §5.5.4.2).
public struct KeyID: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        precondition(bytes.count == 8)
        self.bytes = bytes
    }

    /// The wildcard "anonymous recipient" id (RFC 9580 §5.1.1).
    static let wildcard = KeyID([UInt8](repeating: 0, count: 8))

    public var description: String { bytes.hexString }
}

/// A v4 fingerprint: SHA-1 over 0x99, a two-octet length and the public key body (RFC 9580 §5.5.4.2).
public struct Fingerprint: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    public var keyID: KeyID { KeyID(Array(bytes.suffix(8))) }
    public var description: String { bytes.hexString }

    /// Upper-case hex in groups of four, as people compare a fingerprint side by side.
    public var grouped: String { Self.grouped(description) }

    /// The same grouping for a fingerprint already held as hex text.
    public static func grouped(_ hex: String) -> String {
        let upper = Array(hex.uppercased())
        return stride(from: 0, to: upper.count, by: 4).map { String(upper[$0..<min($0 + 4, upper.count)]) }.joined(separator: " ")
    }
}
