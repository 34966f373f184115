import Testing

@testable import OpenPGP

@Suite("Encrypt and decrypt in process")
struct RoundTripTests {
    @Test("round trip for each key size, compression and encoding", arguments: SecretKey.KeySize.allCases)
    func roundTripEachKeySize(size: SecretKey.KeySize) throws {
        // given
        let key = TestKeys.key(size)
        let samples: [[UInt8]] = [[], [0x42], deterministicBytes(1000), inventoryLikeDocument(bytes: 50_000)]
        for sample in samples {
            for compression in CompressionAlgorithm.allCases {
                for armored in [false, true] {
                    // when
                    let message = try MessageEncryptor.encrypt(sample, to: [key.certificate], compression: compression, armored: armored)
                    let opened = try MessageDecryptor.decrypt(message, with: [key])
                    // then
                    #expect(opened.data == sample)
                    #expect(opened.compression == compression)
                    #expect(opened.symmetricAlgorithm == .aes256)
                    #expect(opened.keyID == key.certificate.encryptionKey.keyID)
                    #expect(Armor.looksArmored(message) == armored)
                }
            }
        }
        #expect(key.certificate.bits == size.rawValue)
        #expect(key.certificate.primary.bits == size.rawValue)
    }

    @Test("5 MB in one call and streamed in odd-sized chunks give the same plaintext back")
    func fiveMegabytes() throws {
        let key = TestKeys.rsa2048
        let data = deterministicBytes(5 * 1024 * 1024, seed: 7)
        let message = try MessageEncryptor.encrypt(data, to: [key.certificate])
        #expect(try MessageDecryptor.decrypt(message, with: [key]).data == data)

        var streamed: [UInt8] = []
        let encryptor = try MessageEncryptor(recipients: [key.certificate], compression: .zip, armored: true) { streamed += $0 }
        var offset = 0
        var step = 1
        while offset < data.count {
            let end = min(data.count, offset + step)
            try encryptor.update(data[offset..<end])
            offset = end
            step = step * 3 % 200_003 + 1
        }
        try encryptor.finish()
        #expect(try MessageDecryptor.decrypt(streamed, with: [key]).data == data)
    }

    @Test("large input uses partial body lengths and is still decrypted")
    func partialLengthsAreWritten() throws {
        let key = TestKeys.rsa2048
        let data = deterministicBytes(300_000, seed: 3)
        let message = try MessageEncryptor.encrypt(data, to: [key.certificate], compression: .uncompressed)
        // The SEIPD packet follows the PKESK: its length octet is a partial length (224…254).
        var reader = PacketReader(message)
        _ = try reader.next()
        let seipdHeaderOffset = reader.offset
        #expect(message[seipdHeaderOffset] == 0xC0 | 18)
        #expect((224..<255).contains(message[seipdHeaderOffset + 1]))
        #expect(try MessageDecryptor.decrypt(message, with: [key]).data == data)
    }

    @Test("several recipients can each open the message")
    func multipleRecipients() throws {
        let data = Array("shared".utf8)
        let message = try MessageEncryptor.encrypt(data, to: [TestKeys.rsa2048.certificate, TestKeys.other2048.certificate])
        #expect(try MessageDecryptor.decrypt(message, with: [TestKeys.rsa2048]).data == data)
        #expect(try MessageDecryptor.decrypt(message, with: [TestKeys.other2048]).data == data)
    }

    @Test("no recipient is refused")
    func noRecipient() {
        #expect(throws: OpenPGPError.invalidKey("a message needs at least one recipient")) {
            try MessageEncryptor.encrypt([1, 2, 3], to: [])
        }
    }

    @Test("the ciphertext does not contain the plaintext")
    func ciphertextHidesPlaintext() throws {
        let secret = Array("hostname=db-prod-01.internal;password=hunter2".utf8)
        for compression in CompressionAlgorithm.allCases {
            let message = try MessageEncryptor.encrypt(secret, to: [TestKeys.rsa2048.certificate], compression: compression)
            #expect(!message.windows(ofCount: 8).contains { $0.elementsEqual(secret.prefix(8)) })
        }
    }
}

extension Array where Element == UInt8 {
    func windows(ofCount n: Int) -> [ArraySlice<UInt8>] {
        guard count >= n else { return [] }
        return (0...count - n).map { self[$0..<$0 + n] }
    }
}
