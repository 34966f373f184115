import Crypto
import CryptoExtras
import Testing

@testable import OpenPGP

/// Hostile input is normal input: every malformed, tampered or oversized message gives its typed
/// error, never a crash and never plaintext.
@Suite("Hostile messages")
struct HostileInputTests {
    let key = TestKeys.rsa2048
    let plaintext = Array("{\"hostname\":\"db-01\",\"software\":[\"postgresql 15.8\"]}".utf8)

    @Test("a bit flipped anywhere is refused; in the session key, ciphertext or MDC it is an integrity failure")
    func bitFlipEverywhere() throws {
        let message = try MessageEncryptor.encrypt(plaintext, to: [key.certificate])
        let layout = try MessageLayout(message)
        for index in message.indices {
            var tampered = message
            tampered[index] ^= UInt8(1 << (index % 8))
            do {
                let opened = try MessageDecryptor.decrypt(tampered, with: [key])
                Issue.record("flip at \(index) decrypted to \(opened.data.count) bytes")
            } catch {
                if index == layout.sessionKeyValue.lowerBound && tampered[index] == 0 {
                    // The flip emptied the session key's first byte: an MPI may not start with a
                    // zero byte (RFC 9580 §3.2), so it is refused before any decryption. (The
                    // message is new each run; this happens in about one run in 256.)
                    #expect(error == .malformed("encrypted session key has a leading zero byte"))
                } else if layout.sessionKeyValue.contains(index) || layout.ciphertext.contains(index) {
                    #expect(error == .integrityCheckFailed, "flip at \(index) (\(layout.region(of: index)))")
                }
                if layout.keyID.contains(index) {
                    #expect(error == .noMatchingKey(recipients: [KeyID(Array(tampered[layout.keyID]))]))
                }
            }
        }
    }

    @Test("truncation at every byte, including every packet boundary, is refused")
    func truncationEverywhere() throws {
        let message = try MessageEncryptor.encrypt(plaintext, to: [key.certificate])
        let layout = try MessageLayout(message)
        #expect(layout.packetBoundaries.count == 2)
        for length in 0..<message.count {
            #expect(throws: OpenPGPError.self, "cut at \(length)") {
                try MessageDecryptor.decrypt(message[0..<length], with: [key])
            }
        }
        #expect(throws: OpenPGPError.malformed("no encrypted data packet")) {
            try MessageDecryptor.decrypt(message[0..<layout.packetBoundaries[0]], with: [key])
        }
    }

    @Test("the wrong key gives noMatchingKey naming the recipient")
    func wrongKey() throws {
        let message = try MessageEncryptor.encrypt(plaintext, to: [key.certificate])
        #expect(throws: OpenPGPError.noMatchingKey(recipients: [key.certificate.encryptionKey.keyID])) {
            try MessageDecryptor.decrypt(message, with: [TestKeys.other2048])
        }
    }

    @Test("bad padding, a bad checksum and a bad algorithm in the session key all give the same error")
    func sessionKeyFailuresAreIndistinguishable() throws {
        let sessionKey = randomBytes(32)
        let good = sum16(sessionKey)
        let rsa = try key.certificate.encryptionKey.encryptionKey()
        let variants: [[UInt8]] = [
            try Array(rsa.encrypt([9] + sessionKey + [UInt8(good >> 8), UInt8(good & 0xFF) ^ 1], padding: ._WEAK_AND_INSECURE_PKCS_V1_5)),
            try Array(rsa.encrypt([3] + sessionKey + [UInt8(good >> 8), UInt8(good & 0xFF)], padding: ._WEAK_AND_INSECURE_PKCS_V1_5)),
            try Array(rsa.encrypt([9] + sessionKey.prefix(16) + [0, 0], padding: ._WEAK_AND_INSECURE_PKCS_V1_5)),
            randomBytes(256),
            [1],
        ]
        for encryptedSessionKey in variants {
            var pkesk: [UInt8] = [3] + key.certificate.encryptionKey.keyID.bytes + [1]
            pkesk.appendMPI(encryptedSessionKey)
            let message = try craftMessage(
                sessionKeyPacket: Packet(tag: .publicKeyEncryptedSessionKey, body: pkesk), sessionKey: sessionKey, plaintextPackets: literalPacket(plaintext))
            #expect(throws: OpenPGPError.integrityCheckFailed) { try MessageDecryptor.decrypt(message, with: [key]) }
        }
        // The control: the same construction with a correct session key packet opens.
        let control = try craftMessage(to: key.certificate, plaintextPackets: literalPacket(plaintext))
        #expect(try MessageDecryptor.decrypt(control, with: [key]).data == plaintext)
    }

    @Test("a compression bomb of a few KB stops at the ratio limit and at the absolute limit", arguments: [CompressionAlgorithm.zlib, .zip])
    func compressionBomb(algorithm: CompressionAlgorithm) throws {
        var message: [UInt8] = []
        let encryptor = try MessageEncryptor(recipients: [key.certificate], compression: algorithm) { message += $0 }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<24 { try encryptor.update(zeros) }
        try encryptor.finish()
        #expect(message.count < 40_000, "bomb is \(message.count) bytes")
        #expect(throws: OpenPGPError.tooLarge("compressed data expands more than 250 times")) {
            try MessageDecryptor.decrypt(message, with: [key])
        }
        var limits = DecryptionLimits()
        limits.maxCompressionRatio = 100_000
        limits.maxPlaintextBytes = 8 << 20
        #expect(throws: OpenPGPError.tooLarge("decompressed data exceeds \(8 << 20) bytes")) {
            try MessageDecryptor.decrypt(message, with: [key], limits: limits)
        }
    }

    @Test("compressed packets nested past the limit are refused")
    func deepNesting() throws {
        var inner = literalPacket(plaintext)
        for _ in 0..<6 {
            inner = Packet(tag: .compressedData, body: [CompressionAlgorithm.uncompressed.rawValue] + inner).encoded
        }
        let message = try craftMessage(to: key.certificate, plaintextPackets: inner)
        #expect(throws: OpenPGPError.tooLarge("compressed packets nested deeper than 4")) {
            try MessageDecryptor.decrypt(message, with: [key])
        }
        var shallow = literalPacket(plaintext)
        for _ in 0..<3 { shallow = Packet(tag: .compressedData, body: [0] + shallow).encoded }
        #expect(try MessageDecryptor.decrypt(try craftMessage(to: key.certificate, plaintextPackets: shallow), with: [key]).data == plaintext)
    }

    @Test("absurd lengths are refused without allocating them")
    func absurdLengths() {
        #expect(throws: OpenPGPError.malformed("PKESK packet (tag 1) declares 4294967295 bytes but only 3 remain")) {
            try MessageDecryptor.decrypt([0xC1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3], with: [key])
        }
        #expect(throws: OpenPGPError.malformed("PKESK packet (tag 1) uses a partial body length")) {
            try MessageDecryptor.decrypt([0xC1, 0xEF] + [UInt8](repeating: 0, count: 40), with: [key])
        }
        #expect(throws: OpenPGPError.malformed("unprotected encrypted data packet (tag 9) declares 16777216 bytes but only 0 remain")) {
            try MessageDecryptor.decrypt([0xA6, 0x01, 0x00, 0x00, 0x00], with: [key])  // legacy format, 4-byte length
        }
        var limits = DecryptionLimits()
        limits.maxMessageBytes = 100
        #expect(throws: OpenPGPError.tooLarge("message of 101 bytes (limit 100)")) {
            try MessageDecryptor.decrypt([UInt8](repeating: 0xC1, count: 101), with: [key], limits: limits)
        }
    }

    @Test("more recipients than the limit are refused")
    func tooManyRecipients() throws {
        let message = try MessageEncryptor.encrypt(plaintext, to: [key.certificate])
        let layout = try MessageLayout(message)
        let pkesk = Array(message[0..<layout.packetBoundaries[0]])
        let flood = Array([[UInt8]](repeating: pkesk, count: 65).joined()) + Array(message[layout.packetBoundaries[0]...])
        #expect(throws: OpenPGPError.tooLarge("more than 64 recipients")) { try MessageDecryptor.decrypt(flood, with: [key]) }
    }

    @Test("things that are not encrypted OpenPGP messages get precise errors")
    func notMessages() throws {
        #expect(throws: OpenPGPError.malformed("byte 0 is not a packet header (bit 7 clear: 0x7B)")) {
            try MessageDecryptor.decrypt(Array("{\"json\":true}".utf8), with: [key])
        }
        #expect(throws: OpenPGPError.malformed("no encrypted data packet")) { try MessageDecryptor.decrypt([], with: [key]) }
        #expect(throws: OpenPGPError.unsupported("a message that is not encrypted")) {
            try MessageDecryptor.decrypt(literalPacket(plaintext), with: [key])
        }
        #expect(throws: OpenPGPError.unsupported("encrypted data without integrity protection (packet 9)")) {
            try MessageDecryptor.decrypt(Packet(tag: .symmetricallyEncryptedData, body: [UInt8](repeating: 7, count: 64)).encoded, with: [key])
        }
        #expect(throws: OpenPGPError.malformed("expected a PGP MESSAGE, found PGP PUBLIC KEY BLOCK")) {
            try MessageDecryptor.decrypt(Array(key.certificate.armored.utf8), with: [key])
        }
        #expect(throws: OpenPGPError.malformed("armor body is not valid base64")) {
            try MessageDecryptor.decrypt(Array("-----BEGIN PGP MESSAGE-----\n\n!!!!\n-----END PGP MESSAGE-----\n".utf8), with: [key])
        }
        #expect(throws: OpenPGPError.unsupported("packet tag 60 at byte 0")) { try MessageDecryptor.decrypt([0xFC, 0], with: [key]) }
    }

    @Test("signed or doubled inner packets are refused")
    func innerPacketRules() throws {
        let signed = Packet(tag: .onePassSignature, body: [3, 0, 8, 1] + [UInt8](repeating: 0, count: 9)).encoded + literalPacket(plaintext)
        #expect(throws: OpenPGPError.unsupported("signed messages")) {
            try MessageDecryptor.decrypt(try craftMessage(to: key.certificate, plaintextPackets: signed), with: [key])
        }
        let doubled = literalPacket(plaintext) + literalPacket([1])
        #expect(throws: OpenPGPError.malformed("more than one data packet in a message")) {
            try MessageDecryptor.decrypt(try craftMessage(to: key.certificate, plaintextPackets: doubled), with: [key])
        }
    }

    @Test("a thousand random mutations never crash and never decrypt")
    func randomMutations() throws {
        let message = try MessageEncryptor.encrypt(plaintext, to: [key.certificate])
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<1000 {
            var mutated = message
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: mutated[Int.random(in: 0..<mutated.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            case 1: mutated.insert(UInt8.random(in: 0...255, using: &generator), at: Int.random(in: 0...mutated.count, using: &generator))
            case 2: mutated.remove(at: Int.random(in: 0..<mutated.count, using: &generator))
            default: mutated = (0..<Int.random(in: 0..<600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            guard mutated != message else { continue }
            #expect(throws: OpenPGPError.self) { try MessageDecryptor.decrypt(mutated, with: [key]) }
        }
    }
}

// MARK: - helpers

struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func sum16(_ bytes: [UInt8]) -> Int { bytes.reduce(0) { ($0 + Int($1)) & 0xFFFF } }

func literalPacket(_ data: [UInt8]) -> [UInt8] {
    Packet(tag: .literalData, body: [UInt8(ascii: "b"), 0, 0, 0, 0, 0] + data).encoded
}

/// Builds a message from raw inner packets, to reach states a well-behaved encryptor never makes.
func craftMessage(to certificate: Certificate, plaintextPackets: [UInt8]) throws -> [UInt8] {
    let sessionKey = randomBytes(32)
    let pkesk = try MessageEncryptor.sessionKeyPacket(for: certificate.encryptionKey, algorithm: .aes256, key: sessionKey)
    return try craftMessage(sessionKeyPacket: pkesk, sessionKey: sessionKey, plaintextPackets: plaintextPackets)
}

func craftMessage(sessionKeyPacket: Packet, sessionKey: [UInt8], plaintextPackets: [UInt8]) throws -> [UInt8] {
    var ciphertext: [UInt8] = []
    let encryptor = try SEIPDv1Encryptor(key: SymmetricKey(data: sessionKey), next: ClosureSink { ciphertext += $0 })
    try encryptor.write(plaintextPackets[...])
    try encryptor.finish()
    return sessionKeyPacket.encoded + Packet(tag: .symEncryptedIntegrityProtectedData, body: [1] + ciphertext).encoded
}

/// Where each part of a one-recipient message sits.
struct MessageLayout {
    var packetBoundaries: [Int] = []
    var keyID: Range<Int> = 0..<0
    var sessionKeyValue: Range<Int> = 0..<0
    var ciphertext: Range<Int> = 0..<0

    init(_ message: [UInt8]) throws {
        var reader = PacketReader(message)
        var start = 0
        while let packet = try reader.next() {
            let bodyStart = reader.offset - packet.body.count
            switch packet.tag {
            case .publicKeyEncryptedSessionKey:
                keyID = bodyStart + 1..<bodyStart + 9
                sessionKeyValue = bodyStart + 12..<reader.offset
            case .symEncryptedIntegrityProtectedData:
                ciphertext = bodyStart + 1..<reader.offset
            default: break
            }
            _ = start
            start = reader.offset
            packetBoundaries.append(reader.offset)
        }
    }

    func region(of index: Int) -> String {
        if keyID.contains(index) { return "key ID" }
        if sessionKeyValue.contains(index) { return "session key" }
        if ciphertext.contains(index) { return "ciphertext" }
        return "header"
    }
}
