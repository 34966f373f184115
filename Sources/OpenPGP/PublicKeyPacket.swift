import Crypto
import CryptoExtras

/// A version 4 RSA public key or subkey packet (RFC 9580 §5.5.2.3, §5.5.5.1).
public struct PublicKeyPacket: Sendable, Equatable {
    public let created: UInt32
    public let algorithm: PublicKeyAlgorithm
    let modulus: [UInt8]
    let exponent: [UInt8]

    /// The serialized body, which is also what the fingerprint and signatures hash.
    let body: [UInt8]

    init(created: UInt32, algorithm: PublicKeyAlgorithm, modulus: [UInt8], exponent: [UInt8]) {
        self.created = created
        self.algorithm = algorithm
        self.modulus = Array(modulus.drop(while: { $0 == 0 }))
        self.exponent = Array(exponent.drop(while: { $0 == 0 }))
        var body: [UInt8] = [4]
        body.appendUInt32(created)
        body.append(algorithm.rawValue)
        body.appendMPI(self.modulus)
        body.appendMPI(self.exponent)
        self.body = body
    }

    /// Parses the public fields and leaves the reader after them (secret key packets continue).
    static func parse(_ reader: inout ByteReader) throws(OpenPGPError) -> PublicKeyPacket {
        let version = try reader.readByte("key version")
        guard version == 4 else { throw .unsupported("key packet version \(version) (only v4)") }
        let created = try reader.readUInt32("key creation time")
        let algorithmID = try reader.readByte("key algorithm")
        guard let algorithm = PublicKeyAlgorithm(rawValue: algorithmID) else {
            throw .unsupported("public-key algorithm \(algorithmID) (only RSA)")
        }
        let modulus = try reader.readMPI("RSA modulus n")
        let exponent = try reader.readMPI("RSA exponent e")
        return PublicKeyPacket(created: created, algorithm: algorithm, modulus: modulus, exponent: exponent)
    }

    static func parse(body: [UInt8]) throws(OpenPGPError) -> PublicKeyPacket {
        var reader = ByteReader(body)
        let packet = try parse(&reader)
        guard reader.isAtEnd else { throw .malformed("\(reader.remaining) trailing bytes after an RSA public key") }
        return packet
    }

    public var bits: Int {
        guard let first = modulus.first else { return 0 }
        return modulus.count * 8 - first.leadingZeroBitCount
    }

    public var fingerprint: Fingerprint {
        var material: [UInt8] = [0x99]
        material.appendUInt16(body.count)
        material.append(contentsOf: body)
        return Fingerprint(bytes: Array(Insecure.SHA1.hash(data: material)))
    }

    public var keyID: KeyID { fingerprint.keyID }

    /// The prefix that signatures over this key hash (RFC 9580 §5.2.4).
    var signedForm: [UInt8] {
        var out: [UInt8] = [0x99]
        out.appendUInt16(body.count)
        out.append(contentsOf: body)
        return out
    }

    func encryptionKey() throws(OpenPGPError) -> _RSA.Encryption.PublicKey {
        guard bits >= 2048 else { throw .invalidKey("RSA key \(keyID) has \(bits) bits; at least 2048 are required (KEY-1)") }
        do {
            return try _RSA.Encryption.PublicKey(n: modulus, e: exponent)
        } catch {
            throw .invalidKey("RSA key \(keyID) is not a valid public key")
        }
    }

    func verificationKey() throws(OpenPGPError) -> _RSA.Signing.PublicKey {
        guard bits >= 2048 else { throw .invalidKey("RSA key \(keyID) has \(bits) bits; at least 2048 are required (KEY-1)") }
        do {
            return try _RSA.Signing.PublicKey(n: modulus, e: exponent)
        } catch {
            throw .invalidKey("RSA key \(keyID) is not a valid public key")
        }
    }
}
