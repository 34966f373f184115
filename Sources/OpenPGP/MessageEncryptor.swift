import Crypto
import CryptoExtras

/// Encrypts a message to one or more certificates, streaming: literal data (RFC 9580 §5.9) →
/// compressed data (§5.6) → SEIPD v1 with MDC (§5.13.1) under AES-256, preceded by one PKESK v3
/// (§5.1) per recipient. Plaintext is never written anywhere but into the cipher (KEY-2); memory
/// stays bounded by a few 64 KiB buffers whatever the input size.
public final class MessageEncryptor {
    private let input: any ByteSink
    private var finished = false

    /// - Parameter output: receives the encrypted bytes as they are produced.
    public init(
        recipients: [Certificate],
        compression: CompressionAlgorithm = .zlib,
        compressionLevel: Int = 6,
        armored: Bool = false,
        output: @escaping ([UInt8]) throws -> Void
    ) throws {
        guard (1...9).contains(compressionLevel) else { throw OpenPGPError.unsupported("compression level \(compressionLevel) (1 to 9)") }
        guard !recipients.isEmpty else { throw OpenPGPError.invalidKey("a message needs at least one recipient") }
        var sink: any ByteSink = ClosureSink(output)
        if armored { sink = ArmorWriter(kind: .message, next: sink) }

        let algorithm = SymmetricAlgorithm.aes256
        let sessionKey = SymmetricKey(size: .bits256)
        let sessionKeyBytes = sessionKey.withUnsafeBytes { Array($0) }
        for recipient in recipients {
            try sink.write(try Self.sessionKeyPacket(for: recipient.encryptionKey, algorithm: algorithm, key: sessionKeyBytes).encoded[...])
        }

        let seipd = PacketStreamWriter(tag: .symEncryptedIntegrityProtectedData, next: sink)
        try seipd.write([1][...])  // SEIPD version 1
        let cipher = try SEIPDv1Encryptor(key: sessionKey, next: seipd)
        var plaintextSink: any ByteSink = cipher
        if compression != .uncompressed {
            let compressed = PacketStreamWriter(tag: .compressedData, next: cipher)
            try compressed.write([compression.rawValue][...])
            plaintextSink = try DeflateWriter(algorithm: compression, level: Int32(compressionLevel), next: compressed)
        }
        let literal = PacketStreamWriter(tag: .literalData, next: plaintextSink)
        // Binary format, no file name, date 0: nothing about the sender's files leaks.
        try literal.write([UInt8(ascii: "b"), 0, 0, 0, 0, 0][...])
        input = literal
    }

    public func update(_ bytes: some Collection<UInt8>) throws {
        precondition(!finished, "update after finish")
        try input.write(Array(bytes)[...])
    }

    public func finish() throws {
        precondition(!finished, "finish called twice")
        finished = true
        try input.finish()
    }

    /// Encrypts a whole buffer in memory.
    public static func encrypt(
        _ data: some Collection<UInt8>,
        to recipients: [Certificate],
        compression: CompressionAlgorithm = .zlib,
        compressionLevel: Int = 6,
        armored: Bool = false
    ) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count / 4 + 1024)
        let encryptor = try MessageEncryptor(recipients: recipients, compression: compression, compressionLevel: compressionLevel, armored: armored) {
            out.append(contentsOf: $0)
        }
        try encryptor.update(data)
        try encryptor.finish()
        return out
    }

    /// PKESK v3: key ID, RSA, and m^e where m = algorithm ‖ session key ‖ two-octet checksum,
    /// padded with PKCS #1 v1.5 (RFC 9580 §5.1.3–5.1.4).
    static func sessionKeyPacket(for key: PublicKeyPacket, algorithm: SymmetricAlgorithm, key sessionKey: [UInt8]) throws -> Packet {
        var plaintext: [UInt8] = [algorithm.rawValue]
        plaintext.append(contentsOf: sessionKey)
        plaintext.appendUInt16(sessionKey.reduce(0) { ($0 + Int($1)) & 0xFFFF })
        let encrypted = try key.encryptionKey().encrypt(plaintext, padding: ._WEAK_AND_INSECURE_PKCS_V1_5)
        var body: [UInt8] = [3]
        body.append(contentsOf: key.keyID.bytes)
        body.append(key.algorithm.rawValue)
        body.appendMPI(Array(encrypted))
        return Packet(tag: .publicKeyEncryptedSessionKey, body: body)
    }
}

/// CFB with a zero IV over a random prefix, the plaintext and the MDC packet (0xD3 0x14 ‖ SHA-1),
/// as RFC 9580 §5.13.1 describes. Full-block feedback lets it run chunk by chunk: the last
/// ciphertext block of one chunk is the IV of the next.
final class SEIPDv1Encryptor: ByteSink {
    private let key: SymmetricKey
    private let next: any ByteSink
    private var iv = [UInt8](repeating: 0, count: SymmetricAlgorithm.blockSize)
    private var mdc = Insecure.SHA1()
    private var pending: [UInt8] = []
    private static let chunk = 64 * 1024

    init(key: SymmetricKey, next: any ByteSink) throws {
        self.key = key
        self.next = next
        var prefix = randomBytes(SymmetricAlgorithm.blockSize)
        prefix.append(contentsOf: prefix.suffix(2))
        try write(prefix[...])
    }

    func write(_ bytes: ArraySlice<UInt8>) throws {
        mdc.update(data: bytes)
        pending.append(contentsOf: bytes)
        guard pending.count >= Self.chunk else { return }
        let whole = pending.count - pending.count % SymmetricAlgorithm.blockSize
        try encrypt(pending[0..<whole])
        pending.removeFirst(whole)
    }

    func finish() throws {
        let trailer: [UInt8] = [0xD3, 0x14]
        mdc.update(data: trailer)
        pending.append(contentsOf: trailer)
        pending.append(contentsOf: mdc.finalize())
        try encrypt(pending[...])
        pending = []
        try next.finish()
    }

    private func encrypt(_ plaintext: ArraySlice<UInt8>) throws {
        let ciphertext = Array(try AES._CFB.encrypt(plaintext, using: key, iv: AES._CFB.IV(ivBytes: iv)))
        if ciphertext.count >= SymmetricAlgorithm.blockSize {
            iv = Array(ciphertext.suffix(SymmetricAlgorithm.blockSize))
        }
        try next.write(ciphertext[...])
    }
}
