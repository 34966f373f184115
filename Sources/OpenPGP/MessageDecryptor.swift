import Crypto
import CryptoExtras

/// Bounds on what one message may cost to open. Hostile input is normal input here.
public struct DecryptionLimits: Sendable {
    /// Largest encrypted message accepted, armored or binary.
    public var maxMessageBytes: Int = 256 << 20
    /// Largest plaintext released, after decompression.
    public var maxPlaintextBytes: Int = 256 << 20
    /// Largest expansion of a compressed packet once it is over `ratioFloorBytes`.
    public var maxCompressionRatio: Int = 250
    public var ratioFloorBytes: Int = 1 << 20
    /// PKESK packets accepted before the encrypted data.
    public var maxRecipients: Int = 64
    /// Compressed packets inside compressed packets.
    public var maxNestingDepth: Int = 4

    public init() {}
    public static let `default` = DecryptionLimits()
}

/// What came out of a message.
public struct DecryptedMessage: Sendable {
    public let data: [UInt8]
    /// The key whose session key packet opened the message.
    public let keyID: KeyID
    public let fileName: String
    public let compression: CompressionAlgorithm
    public let symmetricAlgorithm: SymmetricAlgorithm
}

public enum MessageDecryptor {
    /// Decrypts an armored or binary message with any of `keys`. Everything is checked before any
    /// plaintext is returned: a message whose MDC does not verify releases nothing.
    public static func decrypt(
        _ message: some Collection<UInt8>,
        with keys: [SecretKey],
        limits: DecryptionLimits = .default
    ) throws(OpenPGPError) -> DecryptedMessage {
        let binary = try binaryMessage(message, limits: limits)

        let (sessionKeyPackets, encryptedData) = try structure(of: binary, limits: limits)

        // Pair each session key packet with the keys that can open it.
        var attempts: [(RSADecryptionKey, KeyID, [UInt8])] = []
        for packet in sessionKeyPackets {
            for key in keys {
                if packet.keyID == .wildcard {
                    attempts += key.decryptionKeys.map { ($0.value, $0.key, packet.encrypted) }
                } else if let decryptionKey = key.decryptionKeys[packet.keyID] {
                    attempts.append((decryptionKey, packet.keyID, packet.encrypted))
                }
            }
        }
        guard let firstAttempt = attempts.first else {
            throw .noMatchingKey(recipients: sessionKeyPackets.map(\.keyID))
        }
        var recovered: (algorithm: SymmetricAlgorithm, key: [UInt8], keyID: KeyID)?
        for (key, keyID, encrypted) in attempts {
            if let found = recoverSessionKey(encrypted, with: key) {
                recovered = (found.algorithm, found.key, keyID)
                break
            }
        }
        // Implicit rejection: a failed session key does not fail here, where its cause could be
        // told apart, but becomes a random key that fails the integrity check like any tampering.
        let session = recovered ?? (.aes256, randomBytes(32), firstAttempt.1)

        let plaintext = try openIntegrityProtected(encryptedData, algorithm: session.algorithm, key: session.key)
        var budget = limits.maxPlaintextBytes
        let (literal, compression) = try readPlaintextPackets(plaintext, limits: limits, depth: 0, budget: &budget)
        return DecryptedMessage(
            data: literal.data, keyID: session.keyID, fileName: literal.fileName,
            compression: compression, symmetricAlgorithm: session.algorithm
        )
    }

    // MARK: session keys

    /// The key ids a message is encrypted to, read without any secret key: what a console checks
    /// before it keeps a file a device handed it (the shape of an encrypted message, RFC 9580 §10.3).
    public static func recipients(of message: some Collection<UInt8>, limits: DecryptionLimits = .default) throws(OpenPGPError) -> [KeyID] {
        let binary = try binaryMessage(message, limits: limits)
        return try structure(of: binary, limits: limits).sessionKeys.map(\.keyID)
    }

    /// The message's packets as bytes (armor removed), within the size limit.
    private static func binaryMessage(_ message: some Collection<UInt8>, limits: DecryptionLimits) throws(OpenPGPError) -> [UInt8] {
        guard message.count <= limits.maxMessageBytes else {
            throw .tooLarge("message of \(message.count) bytes (limit \(limits.maxMessageBytes))")
        }
        guard Armor.looksArmored(message) else { return Array(message) }
        let (kind, bytes) = try Armor.decode(message)
        guard kind == .message else { throw .malformed("expected a PGP MESSAGE, found \(kind.rawValue)") }
        return bytes
    }

    /// Session key packets, then exactly one integrity-protected data packet at the end.
    private static func structure(
        of binary: [UInt8], limits: DecryptionLimits
    ) throws(OpenPGPError) -> (sessionKeys: [(keyID: KeyID, encrypted: [UInt8])], encryptedData: [UInt8]) {
        var sessionKeyPackets: [(keyID: KeyID, encrypted: [UInt8])] = []
        var reader = PacketReader(binary, maxPacketBytes: limits.maxMessageBytes)
        var encryptedData: [UInt8]?
        while let packet = try reader.next() {
            switch packet.tag {
            case .publicKeyEncryptedSessionKey:
                guard sessionKeyPackets.count < limits.maxRecipients else {
                    throw .tooLarge("more than \(limits.maxRecipients) recipients")
                }
                if let parsed = try parseSessionKeyPacket(packet.body) { sessionKeyPackets.append(parsed) }
            case .symmetricKeyEncryptedSessionKey, .marker, .padding:
                continue
            case .symEncryptedIntegrityProtectedData:
                guard reader.isAtEnd else { throw .malformed("data follows the encrypted data packet") }
                encryptedData = packet.body
            case .symmetricallyEncryptedData:
                throw .unsupported("encrypted data without integrity protection (packet 9)")
            case .aeadEncryptedData:
                throw .unsupported("AEAD encrypted data (packet 20)")
            case .literalData, .compressedData, .onePassSignature, .signature:
                throw .unsupported("a message that is not encrypted")
            default:
                throw .malformed("unexpected \(packet.tag) in a message")
            }
        }
        guard let encryptedData else { throw .malformed("no encrypted data packet") }
        guard !sessionKeyPackets.isEmpty else { throw .noMatchingKey(recipients: []) }
        return (sessionKeyPackets, encryptedData)
    }

    private static func parseSessionKeyPacket(_ body: [UInt8]) throws(OpenPGPError) -> (keyID: KeyID, encrypted: [UInt8])? {
        var reader = ByteReader(body)
        let version = try reader.readByte("PKESK version")
        guard version == 3 else { throw .unsupported("PKESK version \(version)") }
        let keyID = KeyID(try reader.readBytes(8, "PKESK key ID"))
        let algorithm = try reader.readByte("PKESK algorithm")
        // A recipient of another algorithm (a colleague's ECDH key) is not ours: skip it.
        guard algorithm == PublicKeyAlgorithm.rsaEncryptOrSign.rawValue || algorithm == PublicKeyAlgorithm.rsaEncryptOnly.rawValue else {
            return nil
        }
        let encrypted = try reader.readMPI("encrypted session key")
        guard reader.isAtEnd else { throw .malformed("trailing bytes in a PKESK packet") }
        return (keyID, encrypted)
    }

    /// Returns nil for every kind of failure alike (padding, length, algorithm, checksum).
    private static func recoverSessionKey(_ encrypted: [UInt8], with key: RSADecryptionKey) -> (algorithm: SymmetricAlgorithm, key: [UInt8])? {
        guard encrypted.count <= key.modulusBytes,
            let decrypted = try? key.key.decrypt(leftPadded(encrypted, to: key.modulusBytes), padding: ._WEAK_AND_INSECURE_PKCS_V1_5)
        else { return nil }
        let bytes = Array(decrypted)
        guard bytes.count >= 3, let algorithm = SymmetricAlgorithm(rawValue: bytes[0]),
            bytes.count == 1 + algorithm.keySize + 2
        else { return nil }
        let sessionKey = Array(bytes[1..<1 + algorithm.keySize])
        let checksum = Int(bytes[bytes.count - 2]) << 8 | Int(bytes[bytes.count - 1])
        guard sessionKey.reduce(0, { ($0 + Int($1)) & 0xFFFF }) == checksum else { return nil }
        return (algorithm, sessionKey)
    }

    // MARK: SEIPD v1 (RFC 9580 §5.13.1)

    private static func openIntegrityProtected(_ body: [UInt8], algorithm: SymmetricAlgorithm, key: [UInt8]) throws(OpenPGPError) -> [UInt8] {
        guard let version = body.first else { throw .malformed("empty encrypted data packet") }
        guard version == 1 else { throw .unsupported("SEIPD version \(version)") }
        let blockSize = SymmetricAlgorithm.blockSize
        let minimum = 1 + blockSize + 2 + 22
        guard body.count >= minimum else { throw .malformed("encrypted data packet of \(body.count) bytes is too short") }
        let plaintext: [UInt8]
        do {
            plaintext = Array(
                try AES._CFB.decrypt(
                    body[1...], using: SymmetricKey(data: key), iv: AES._CFB.IV(ivBytes: [UInt8](repeating: 0, count: blockSize))
                ))
        } catch {
            throw .integrityCheckFailed
        }
        // The quick check octets (prefix repeat) are deliberately not consulted: they are an oracle.
        let hashed = plaintext[0..<plaintext.count - 20]
        let expected = Array(Insecure.SHA1.hash(data: hashed))
        let mdcHeaderOK = plaintext[plaintext.count - 22] == 0xD3 && plaintext[plaintext.count - 21] == 0x14
        guard constantTimeEquals(plaintext.suffix(20), expected), mdcHeaderOK else {
            throw .integrityCheckFailed
        }
        return Array(plaintext[(blockSize + 2)..<(plaintext.count - 22)])
    }

    // MARK: inner packets

    private struct Literal {
        let data: [UInt8]
        let fileName: String
    }

    private static func readPlaintextPackets(
        _ bytes: [UInt8], limits: DecryptionLimits, depth: Int, budget: inout Int
    ) throws(OpenPGPError) -> (Literal, CompressionAlgorithm) {
        var reader = PacketReader(bytes)
        var result: (Literal, CompressionAlgorithm)?
        while let packet = try reader.next() {
            switch packet.tag {
            case .marker, .padding:
                continue
            case .literalData, .compressedData:
                guard result == nil else { throw .malformed("more than one data packet in a message") }
                if packet.tag == .literalData {
                    result = (try parseLiteral(packet.body), .uncompressed)
                } else {
                    guard depth < limits.maxNestingDepth else {
                        throw .tooLarge("compressed packets nested deeper than \(limits.maxNestingDepth)")
                    }
                    guard let id = packet.body.first else { throw .malformed("empty compressed data packet") }
                    guard let algorithm = CompressionAlgorithm(rawValue: id) else {
                        throw .unsupported("compression algorithm \(id)\(id == 3 ? " (BZip2)" : "")")
                    }
                    let compressed = Array(packet.body.dropFirst())
                    let inner: [UInt8]
                    if algorithm == .uncompressed {
                        inner = compressed
                    } else {
                        let ratioCap = max(limits.ratioFloorBytes, compressed.count.multipliedReportingOverflow(by: limits.maxCompressionRatio).partialValue)
                        let cap = min(budget, ratioCap)
                        do {
                            inner = try Inflater.inflate(compressed, algorithm: algorithm, limit: cap)
                        } catch {
                            if case .tooLarge = error {
                                throw .tooLarge(
                                    cap == budget
                                        ? "decompressed data exceeds \(limits.maxPlaintextBytes) bytes"
                                        : "compressed data expands more than \(limits.maxCompressionRatio) times")
                            }
                            throw error
                        }
                    }
                    budget -= inner.count
                    let (literal, _) = try readPlaintextPackets(inner, limits: limits, depth: depth + 1, budget: &budget)
                    result = (literal, algorithm)
                }
            case .onePassSignature, .signature:
                throw .unsupported("signed messages")
            default:
                throw .malformed("unexpected \(packet.tag) inside the encrypted data")
            }
        }
        guard let result else { throw .malformed("no literal data in the message") }
        return result
    }

    /// Literal data (RFC 9580 §5.9): format, file name, date, then the data.
    private static func parseLiteral(_ body: [UInt8]) throws(OpenPGPError) -> Literal {
        var reader = ByteReader(body)
        let format = try reader.readByte("literal data format")
        guard [UInt8(ascii: "b"), UInt8(ascii: "t"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "1"), UInt8(ascii: "m")].contains(format) else {
            throw .malformed("literal data format 0x\([format].hexString)")
        }
        let nameLength = Int(try reader.readByte("literal file name length"))
        let name = try reader.readBytes(nameLength, "literal file name")
        _ = try reader.readUInt32("literal date")
        return Literal(data: reader.readRest(), fileName: String(decoding: name, as: UTF8.self))
    }
}
