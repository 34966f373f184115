import Crypto
import CryptoExtras
import SwiftASN1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The secret RSA numbers as OpenPGP orders them (RFC 9580 §5.5.3): d, p, q with p < q, u = p⁻¹ mod q.
struct RSASecretParameters: Sendable, Equatable {
    let d: [UInt8]
    let p: [UInt8]
    let q: [UInt8]
    let u: [UInt8]

    var encodedMPIs: [UInt8] {
        var out: [UInt8] = []
        out.appendMPI(d)
        out.appendMPI(p)
        out.appendMPI(q)
        out.appendMPI(u)
        return out
    }
}

/// An RSA private key ready to decrypt session keys. BoringSSL's RSA object is safe to use from
/// several threads (blinding is locked internally); swift-crypto does not mark it Sendable.
final class RSADecryptionKey: @unchecked Sendable {
    let key: _RSA.Encryption.PrivateKey
    let modulusBytes: Int

    init(public packet: PublicKeyPacket, secret: RSASecretParameters) throws(OpenPGPError) {
        do {
            key = try _RSA.Encryption.PrivateKey(n: packet.modulus, e: packet.exponent, d: secret.d, p: secret.q, q: secret.p)
        } catch {
            throw .invalidKey("the secret numbers of \(packet.keyID) do not form a valid RSA key")
        }
        modulusBytes = (packet.bits + 7) / 8
    }
}

/// A transferable secret key: the certificate plus the secret numbers of its keys.
/// Decrypting with it needs no passphrase: protection applies only to the exported form.
public struct SecretKey: Sendable {
    public let certificate: Certificate
    let secrets: [KeyID: RSASecretParameters]
    let decryptionKeys: [KeyID: RSADecryptionKey]
    /// The signature and user ID packets, kept to re-export the key.
    private let blockPackets: [Packet]

    /// Reads an armored "PGP PRIVATE KEY BLOCK" or its binary form, unlocking protected keys
    /// with `passphrase`.
    public init(importing bytes: some Collection<UInt8>, passphrase: String? = nil, now: Date = Date()) throws(OpenPGPError) {
        let binary = try KeyBlock.binary(from: bytes)
        let block = try KeyBlock.parse(binary)
        let certificate = try Certificate(parsed: block, now: now)
        let passphraseBytes = passphrase.map { Array($0.utf8) }
        var secrets: [KeyID: RSASecretParameters] = [:]
        guard let primaryBody = block.primary.secretBody else {
            throw .invalidKey("this is a public key block; a secret key is needed")
        }
        secrets[certificate.primary.keyID] = try Self.parseSecret(body: primaryBody, passphrase: passphraseBytes).secret
        for subkey in block.subkeys {
            guard let key = subkey.key, certificate.subkeys.contains(key), let body = subkey.secretBody else { continue }
            secrets[key.keyID] = try Self.parseSecret(body: body, passphrase: passphraseBytes).secret
        }
        guard secrets[certificate.encryptionKey.keyID] != nil else {
            throw .invalidKey("the secret part of encryption key \(certificate.encryptionKey.keyID) is missing")
        }
        try self.init(certificate: certificate, secrets: secrets)
    }

    init(certificate: Certificate, secrets: [KeyID: RSASecretParameters]) throws(OpenPGPError) {
        self.certificate = certificate
        self.secrets = secrets
        var keys: [KeyID: RSADecryptionKey] = [:]
        for key in [certificate.primary] + certificate.subkeys where key.algorithm.canEncrypt {
            if let secret = secrets[key.keyID] {
                keys[key.keyID] = try RSADecryptionKey(public: key, secret: secret)
            }
        }
        self.decryptionKeys = keys
        self.blockPackets = certificate.packets
    }

    public var fingerprint: Fingerprint { certificate.fingerprint }

    // MARK: export

    /// The secret key as binary packets, its secret numbers protected by `passphrase`
    /// (iterated+salted S2K with SHA-256, AES-256, SHA-1 check hash) or unprotected when nil.
    public func exported(passphrase: String?) throws(OpenPGPError) -> [UInt8] {
        var out: [UInt8] = []
        for packet in blockPackets {
            switch packet.tag {
            case .publicKey, .publicSubkey:
                let key = try PublicKeyPacket.parse(body: packet.body)
                guard let secret = secrets[key.keyID] else {
                    throw .invalidKey("the secret part of \(key.keyID) is missing")
                }
                let body = try Self.secretBody(public: key, secret: secret, passphrase: passphrase.map { Array($0.utf8) })
                out.append(contentsOf: Packet(tag: packet.tag == .publicKey ? .secretKey : .secretSubkey, body: body).encoded)
            default:
                out.append(contentsOf: packet.encoded)
            }
        }
        return out
    }

    public func armored(passphrase: String?) throws(OpenPGPError) -> String {
        Armor.encode(try exported(passphrase: passphrase), as: .privateKey)
    }

    // MARK: secret key packets (RFC 9580 §5.5.3)

    static func secretBody(public key: PublicKeyPacket, secret: RSASecretParameters, passphrase: [UInt8]?) throws(OpenPGPError) -> [UInt8] {
        var body = key.body
        let mpis = secret.encodedMPIs
        guard let passphrase else {
            body.append(0)
            body.append(contentsOf: mpis)
            body.appendUInt16(mpis.reduce(0) { ($0 + Int($1)) & 0xFFFF })
            return body
        }
        let s2k = S2K.iteratedSHA256()
        let algorithm = SymmetricAlgorithm.aes256
        let iv = randomBytes(SymmetricAlgorithm.blockSize)
        let symmetricKey = SymmetricKey(data: s2k.deriveKey(passphrase: passphrase, keySize: algorithm.keySize))
        let plaintext = mpis + Array(Insecure.SHA1.hash(data: mpis))
        let ciphertext: [UInt8]
        do {
            ciphertext = Array(try AES._CFB.encrypt(plaintext, using: symmetricKey, iv: AES._CFB.IV(ivBytes: iv)))
        } catch {
            throw .invalidKey("could not protect the secret key")
        }
        body.append(254)
        body.append(algorithm.rawValue)
        body.append(contentsOf: s2k.encoded)
        body.append(contentsOf: iv)
        body.append(contentsOf: ciphertext)
        return body
    }

    static func parseSecret(body: [UInt8], passphrase: [UInt8]?) throws(OpenPGPError) -> (key: PublicKeyPacket, secret: RSASecretParameters) {
        var reader = ByteReader(body)
        let key = try PublicKeyPacket.parse(&reader)
        let usage = try reader.readByte("S2K usage")
        let plaintext: [UInt8]
        switch usage {
        case 0:
            plaintext = reader.readRest()
            guard plaintext.count >= 2 else { throw .malformed("secret key of \(key.keyID) is truncated") }
            let mpis = plaintext.dropLast(2)
            let expected = Int(plaintext[plaintext.count - 2]) << 8 | Int(plaintext[plaintext.count - 1])
            guard mpis.reduce(0, { ($0 + Int($1)) & 0xFFFF }) == expected else {
                throw .malformed("checksum of the secret key \(key.keyID) does not match")
            }
            return (key, try parseMPIs(Array(mpis), key: key))
        case 254, 255:
            let algorithm = try SymmetricAlgorithm.from(try reader.readByte("secret key cipher"))
            let s2k = try S2K.parse(&reader)
            let iv = try reader.readBytes(SymmetricAlgorithm.blockSize, "secret key IV")
            let encrypted = reader.readRest()
            guard let passphrase else { throw .invalidKey("the secret key \(key.keyID) is protected: a passphrase is needed") }
            let symmetricKey = SymmetricKey(data: s2k.deriveKey(passphrase: passphrase, keySize: algorithm.keySize))
            do {
                plaintext = Array(try AES._CFB.decrypt(encrypted, using: symmetricKey, iv: AES._CFB.IV(ivBytes: iv)))
            } catch {
                throw .malformed("the protected secret key \(key.keyID) cannot be decrypted")
            }
            let checkSize = usage == 254 ? 20 : 2
            guard plaintext.count > checkSize else { throw .malformed("secret key of \(key.keyID) is truncated") }
            let mpis = Array(plaintext.dropLast(checkSize))
            let check = plaintext.suffix(checkSize)
            let expected: [UInt8]
            if usage == 254 {
                expected = Array(Insecure.SHA1.hash(data: mpis))
            } else {
                let sum = mpis.reduce(0) { ($0 + Int($1)) & 0xFFFF }
                expected = [UInt8(sum >> 8), UInt8(sum & 0xFF)]
            }
            guard constantTimeEquals(check, expected) else { throw .wrongPassphrase }
            return (key, try parseMPIs(mpis, key: key))
        case 253:
            throw .unsupported("AEAD-protected secret keys")
        default:
            throw .unsupported("secret key protection \(usage)")
        }
    }

    private static func parseMPIs(_ bytes: [UInt8], key: PublicKeyPacket) throws(OpenPGPError) -> RSASecretParameters {
        var reader = ByteReader(bytes)
        let secret = RSASecretParameters(
            d: try reader.readMPI("RSA secret d"),
            p: try reader.readMPI("RSA secret p"),
            q: try reader.readMPI("RSA secret q"),
            u: try reader.readMPI("RSA secret u")
        )
        guard reader.isAtEnd else { throw .malformed("trailing bytes after the secret numbers of \(key.keyID)") }
        return secret
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

// MARK: - generation

extension SecretKey {
    public enum KeySize: Int, Sendable, CaseIterable {
        case bits2048 = 2048
        case bits3072 = 3072
        case bits4096 = 4096
    }

    /// Generates an RSA primary key (certify, sign) and an RSA encryption subkey of the same size,
    /// a user ID with a positive certification and a subkey binding, both SHA-256 — what GnuPG makes.
    public static func generate(userID: String, size: KeySize = .bits3072, created: Date = Date()) throws(OpenPGPError) -> SecretKey {
        guard !userID.isEmpty, userID.utf8.count <= 1024 else { throw .invalidKey("a user ID must be 1 to 1024 bytes") }
        let time = UInt32(clamping: Int(created.timeIntervalSince1970))
        let (primarySigner, primaryPublic, primarySecret) = try generateRSA(bits: size.rawValue, created: time)
        let (_, subPublic, subSecret) = try generateRSA(bits: size.rawValue, created: time, algorithm: .rsaEncryptOrSign)
        let userIDBytes = Array(userID.utf8)

        var creation: [UInt8] = []
        creation.appendUInt32(time)
        let issuerFingerprint = [UInt8(4)] + primaryPublic.fingerprint.bytes
        var certified = primaryPublic.signedForm
        certified.append(0xB4)
        certified.appendUInt32(UInt32(userIDBytes.count))
        certified.append(contentsOf: userIDBytes)

        let packets: [Packet]
        do {
            let certification = try SignaturePacket.make(
                type: .positiveCertification,
                signedData: certified,
                hashedSubpackets: [
                    (.issuerFingerprint, issuerFingerprint),
                    (.creationTime, creation),
                    (.keyFlags, [KeyFlags([.certify, .sign]).rawValue]),
                    (.preferredSymmetric, [SymmetricAlgorithm.aes256.rawValue, SymmetricAlgorithm.aes192.rawValue, SymmetricAlgorithm.aes128.rawValue]),
                    (.preferredHash, [HashAlgorithm.sha512.rawValue, HashAlgorithm.sha384.rawValue, HashAlgorithm.sha256.rawValue]),
                    (
                        .preferredCompression,
                        [CompressionAlgorithm.zlib.rawValue, CompressionAlgorithm.zip.rawValue, CompressionAlgorithm.uncompressed.rawValue]
                    ),
                    (.features, [0x01]),  // modification detection (SEIPD v1)
                ],
                issuer: primaryPublic,
                signer: primarySigner
            )
            let binding = try SignaturePacket.make(
                type: .subkeyBinding,
                signedData: primaryPublic.signedForm + subPublic.signedForm,
                hashedSubpackets: [
                    (.issuerFingerprint, issuerFingerprint),
                    (.creationTime, creation),
                    (.keyFlags, [KeyFlags.encrypt.rawValue]),
                ],
                issuer: primaryPublic,
                signer: primarySigner
            )
            packets = [
                Packet(tag: .publicKey, body: primaryPublic.body),
                Packet(tag: .userID, body: userIDBytes),
                certification,
                Packet(tag: .publicSubkey, body: subPublic.body),
                binding,
            ]
        } catch {
            throw .invalidKey("could not sign the new key")
        }
        let certificate = Certificate(
            primary: primaryPublic, userIDs: [userID], subkeys: [subPublic], encryptionKey: subPublic, packets: packets
        )
        return try SecretKey(certificate: certificate, secrets: [primaryPublic.keyID: primarySecret, subPublic.keyID: subSecret])
    }

    /// Generates with BoringSSL and reads the numbers back from the PKCS #1 DER form (RFC 8017 A.1.2).
    private static func generateRSA(
        bits: Int, created: UInt32, algorithm: PublicKeyAlgorithm = .rsaEncryptOrSign
    ) throws(OpenPGPError) -> (_RSA.Signing.PrivateKey, PublicKeyPacket, RSASecretParameters) {
        for _ in 0..<8 {
            let key: _RSA.Signing.PrivateKey
            let numbers: [[UInt8]]
            do {
                key = try _RSA.Signing.PrivateKey(keySize: .init(bitCount: bits))
                numbers = try pkcs1Numbers(Array(key.derRepresentation))
            } catch {
                throw .invalidKey("RSA key generation failed")
            }
            // RSAPrivateKey ::= { version, n, e, d, p, q, dP, dQ, qInv }; OpenPGP wants p < q and
            // u = p⁻¹ mod q, which is PKCS #1's qInv once the primes are swapped.
            let (n, e, d, p1, q1, qInverse) = (numbers[1], numbers[2], numbers[3], numbers[4], numbers[5], numbers[8])
            guard compareMagnitude(q1, p1) < 0 else { continue }
            let packet = PublicKeyPacket(created: created, algorithm: algorithm, modulus: n, exponent: e)
            return (key, packet, RSASecretParameters(d: strip(d), p: strip(q1), q: strip(p1), u: strip(qInverse)))
        }
        throw .invalidKey("RSA key generation did not produce ordered primes")
    }

    private static func pkcs1Numbers(_ der: [UInt8]) throws -> [[UInt8]] {
        let root = try DER.parse(der)
        guard case .constructed(let children) = root.content else { throw OpenPGPError.malformed("PKCS #1 key") }
        var numbers: [[UInt8]] = []
        for child in children {
            guard child.identifier == .integer, case .primitive(let bytes) = child.content else {
                throw OpenPGPError.malformed("PKCS #1 key")
            }
            numbers.append(Array(bytes))
        }
        guard numbers.count == 9 else { throw OpenPGPError.malformed("PKCS #1 key") }
        return numbers
    }

    private static func strip(_ bytes: [UInt8]) -> [UInt8] { Array(bytes.drop(while: { $0 == 0 })) }

    private static func compareMagnitude(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let x = strip(a)
        let y = strip(b)
        if x.count != y.count { return x.count < y.count ? -1 : 1 }
        for (l, r) in zip(x, y) where l != r { return l < r ? -1 : 1 }
        return 0
    }
}
