import Foundation
import Testing

@testable import OpenPGP

@Suite("Keys: generation, export, import")
struct KeyTests {
    @Test("a generated key has a primary key, a user ID and an encryption subkey with valid self-signatures")
    func generatedKeyStructure() throws {
        let key = TestKeys.rsa2048
        let certificate = key.certificate
        #expect(certificate.userIDs == ["Assay Test 2048 <keys@assay.test>"])
        #expect(certificate.subkeys.count == 1)
        #expect(certificate.encryptionKey == certificate.subkeys[0])
        #expect(certificate.fingerprint.bytes.count == 20)
        #expect(certificate.keyID.bytes == Array(certificate.fingerprint.bytes.suffix(8)))
        // Re-importing checks every self-signature.
        let reimported = try Certificate(importing: Array(certificate.armored.utf8))
        #expect(reimported.fingerprint == certificate.fingerprint)
        #expect(reimported.encryptionKey == certificate.encryptionKey)
    }

    @Test("secret keys round-trip unprotected and protected by a passphrase")
    func secretExportImport() throws {
        let key = TestKeys.rsa2048
        let plain = try SecretKey(importing: Array(try key.armored(passphrase: nil).utf8))
        #expect(plain.secrets == key.secrets)
        let protected = try key.armored(passphrase: "correct horse battery staple ✓")
        #expect(!protected.isEmpty)
        let unlocked = try SecretKey(importing: Array(protected.utf8), passphrase: "correct horse battery staple ✓")
        #expect(unlocked.secrets == key.secrets)
        #expect(throws: OpenPGPError.wrongPassphrase) {
            try SecretKey(importing: Array(protected.utf8), passphrase: "wrong")
        }
        #expect(throws: OpenPGPError.self) {
            try SecretKey(importing: Array(protected.utf8), passphrase: nil)
        }
        // The protected export does not contain the unprotected secret numbers.
        let binaryProtected = try key.exported(passphrase: "pw")
        let d = key.secrets[key.certificate.encryptionKey.keyID]!.d
        #expect(!binaryProtected.windows(ofCount: 16).contains { $0.elementsEqual(d.prefix(16)) })
        // A message encrypted before export opens with the re-imported key.
        let message = try MessageEncryptor.encrypt(Array("x".utf8), to: [key.certificate])
        #expect(try MessageDecryptor.decrypt(message, with: [unlocked]).data == Array("x".utf8))
    }

    @Test("a public key block cannot be used as a secret key")
    func publicIsNotSecret() {
        #expect(throws: OpenPGPError.invalidKey("this is a public key block; a secret key is needed")) {
            try SecretKey(importing: Array(TestKeys.rsa2048.certificate.armored.utf8))
        }
    }

    @Test("a tampered self-signature makes the key invalid")
    func tamperedSelfSignature() throws {
        var binary = TestKeys.rsa2048.certificate.binary
        // Change the user ID text: the certification no longer matches it.
        let uid = Array("Assay Test 2048".utf8)
        let index = binary.windows(ofCount: uid.count).firstIndex { $0.elementsEqual(uid) }!
        binary[index] ^= 0x20
        #expect(throws: OpenPGPError.invalidKey("key \(TestKeys.rsa2048.fingerprint) has no user ID with a valid self-signature")) {
            try Certificate(importing: binary)
        }
    }

    @Test("a swapped-in encryption subkey without a valid binding is ignored")
    func forgedSubkey() throws {
        // Primary and user ID of one key, subkey and binding of another.
        let victim = try PacketList(TestKeys.rsa2048.certificate.binary)
        let attacker = try PacketList(TestKeys.other2048.certificate.binary)
        let forged = (victim.packets.prefix(3) + attacker.packets.suffix(2)).flatMap(\.encoded)
        let certificate = try? Certificate(importing: forged)
        // Either refused outright, or the foreign subkey is not the encryption key.
        if let certificate {
            #expect(certificate.encryptionKey != TestKeys.other2048.certificate.encryptionKey)
        }
    }

    @Test("armor with a wrong checksum is refused")
    func armorChecksum() throws {
        var armored = TestKeys.rsa2048.certificate.armored
        let checksumStart = armored.range(of: "\n=")!.upperBound
        let original = armored[checksumStart]
        armored.replaceSubrange(checksumStart...checksumStart, with: original == "A" ? "B" : "A")
        #expect(throws: OpenPGPError.malformed("armor checksum does not match its body")) {
            try Certificate(importing: Array(armored.utf8))
        }
    }

    @Test("keys below 2048 bits are refused (KEY-1)")
    func shortKeysRefused() throws {
        // A hand-built 1024-bit public key packet: bits are all that is checked first.
        let packet = PublicKeyPacket(created: 0, algorithm: .rsaEncryptOrSign, modulus: [0x80] + [UInt8](repeating: 1, count: 127), exponent: [1, 0, 1])
        #expect(throws: OpenPGPError.self) { try packet.encryptionKey() }
    }

    @Test("S2K count decoding follows RFC 9580 §3.7.1.3")
    func s2kCount() {
        #expect(S2K(hash: .sha256, salt: [UInt8](repeating: 0, count: 8), codedCount: 0xFF).byteCount == 65_011_712)
        #expect(S2K(hash: .sha256, salt: [UInt8](repeating: 0, count: 8), codedCount: 0x60).byteCount == 65_536)
        #expect(S2K(hash: .sha256, salt: [UInt8](repeating: 0, count: 8), codedCount: 0).byteCount == 1024)
    }
}

/// Splits binary packets (test helper).
struct PacketList {
    let packets: [Packet]
    init(_ bytes: [UInt8]) throws {
        var reader = PacketReader(bytes)
        var packets: [Packet] = []
        while let packet = try reader.next() { packets.append(packet) }
        self.packets = packets
    }
}
