import Crypto
import CryptoExtras

/// Signature types this implementation writes or checks (RFC 9580 §5.2.1).
enum SignatureType: UInt8 {
    case genericCertification = 0x10
    case personaCertification = 0x11
    case casualCertification = 0x12
    case positiveCertification = 0x13
    case subkeyBinding = 0x18
    case primaryKeyBinding = 0x19
    case directKey = 0x1F
    case keyRevocation = 0x20
    case subkeyRevocation = 0x28
    case certificationRevocation = 0x30

    var isCertification: Bool { (0x10...0x13).contains(rawValue) }
}

/// Key flags (RFC 9580 §5.2.3.29).
struct KeyFlags: OptionSet {
    let rawValue: UInt8
    static let certify = KeyFlags(rawValue: 0x01)
    static let sign = KeyFlags(rawValue: 0x02)
    static let encryptCommunications = KeyFlags(rawValue: 0x04)
    static let encryptStorage = KeyFlags(rawValue: 0x08)
    static let encrypt: KeyFlags = [.encryptCommunications, .encryptStorage]
}

/// A version 4 signature packet (RFC 9580 §5.2.3), RSA with PKCS#1 v1.5.
struct SignaturePacket {
    let type: UInt8
    let hashAlgorithm: HashAlgorithm?
    let rawHashAlgorithm: UInt8
    let publicKeyAlgorithm: UInt8
    /// Version through the hashed subpackets: exactly what the signature hashes.
    let hashedPart: [UInt8]
    let hashedSubpackets: [Subpacket]
    let unhashedSubpackets: [Subpacket]
    let leftHashBits: [UInt8]
    let signature: [UInt8]

    struct Subpacket {
        let type: UInt8
        let critical: Bool
        let data: [UInt8]
    }

    enum SubpacketType: UInt8 {
        case creationTime = 2
        case keyExpirationTime = 9
        case preferredSymmetric = 11
        case issuerKeyID = 16
        case preferredHash = 21
        case preferredCompression = 22
        case keyFlags = 27
        case features = 30
        case issuerFingerprint = 33
    }

    static func parse(body: [UInt8]) throws(OpenPGPError) -> SignaturePacket {
        var reader = ByteReader(body)
        let version = try reader.readByte("signature version")
        guard version == 4 else { throw .unsupported("signature version \(version) (only v4)") }
        let type = try reader.readByte("signature type")
        let publicKeyAlgorithm = try reader.readByte("signature public-key algorithm")
        let rawHash = try reader.readByte("signature hash algorithm")
        let hashedLength = try reader.readUInt16("hashed subpacket length")
        let hashedData = try reader.readBytes(hashedLength, "hashed subpackets")
        let hashedPart = Array(body[0..<6 + hashedLength])
        let unhashedLength = try reader.readUInt16("unhashed subpacket length")
        let unhashedData = try reader.readBytes(unhashedLength, "unhashed subpackets")
        let left = try reader.readBytes(2, "left 16 bits of the signed hash")
        var signature: [UInt8] = []
        if publicKeyAlgorithm == PublicKeyAlgorithm.rsaEncryptOrSign.rawValue || publicKeyAlgorithm == PublicKeyAlgorithm.rsaSignOnly.rawValue {
            signature = try reader.readMPI("RSA signature")
            guard reader.isAtEnd else { throw .malformed("trailing bytes after an RSA signature") }
        }
        return SignaturePacket(
            type: type,
            hashAlgorithm: HashAlgorithm(rawValue: rawHash),
            rawHashAlgorithm: rawHash,
            publicKeyAlgorithm: publicKeyAlgorithm,
            hashedPart: hashedPart,
            hashedSubpackets: try parseSubpackets(hashedData),
            unhashedSubpackets: try parseSubpackets(unhashedData),
            leftHashBits: left,
            signature: signature
        )
    }

    /// Subpacket lengths use their own one/two/five-octet form (RFC 9580 §5.2.3.7).
    static func parseSubpackets(_ data: [UInt8]) throws(OpenPGPError) -> [Subpacket] {
        var reader = ByteReader(data)
        var out: [Subpacket] = []
        while !reader.isAtEnd {
            let first = Int(try reader.readByte("subpacket length"))
            let length: Int
            switch first {
            case 0..<192: length = first
            case 192..<255: length = ((first - 192) << 8) + Int(try reader.readByte("subpacket length")) + 192
            default: length = Int(try reader.readUInt32("subpacket length"))
            }
            guard length >= 1 else { throw .malformed("empty signature subpacket") }
            let content = try reader.readBytes(length, "signature subpacket")
            out.append(Subpacket(type: content[0] & 0x7F, critical: content[0] & 0x80 != 0, data: Array(content.dropFirst())))
        }
        return out
    }

    func hashedSubpacket(_ type: SubpacketType) -> [UInt8]? {
        hashedSubpackets.first(where: { $0.type == type.rawValue })?.data
    }

    var creationTime: UInt32? {
        guard let data = hashedSubpacket(.creationTime), data.count == 4 else { return nil }
        return UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3])
    }

    var keyExpirationSeconds: UInt32? {
        guard let data = hashedSubpacket(.keyExpirationTime), data.count == 4 else { return nil }
        let value = UInt32(data[0]) << 24 | UInt32(data[1]) << 16 | UInt32(data[2]) << 8 | UInt32(data[3])
        return value == 0 ? nil : value
    }

    var keyFlags: KeyFlags? {
        hashedSubpacket(.keyFlags).flatMap { $0.first }.map(KeyFlags.init(rawValue:))
    }

    /// Verifies this signature over `signedData` (the key and user ID or subkey material) with `key`.
    func verify(signedData: [UInt8], by key: PublicKeyPacket) -> Bool {
        guard let hashAlgorithm, hashAlgorithm != .sha1,
            publicKeyAlgorithm == key.algorithm.rawValue, key.algorithm.canSign,
            let verifier = try? key.verificationKey()
        else { return false }
        let material = signedData + Self.trailer(hashedPart)
        let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: leftPadded(signature, to: (key.bits + 7) / 8))
        switch hashAlgorithm {
        case .sha256:
            let digest = SHA256.hash(data: material)
            return Array(digest).prefix(2).elementsEqual(leftHashBits)
                && verifier.isValidSignature(rsaSignature, for: digest, padding: .insecurePKCS1v1_5)
        case .sha384:
            let digest = SHA384.hash(data: material)
            return Array(digest).prefix(2).elementsEqual(leftHashBits)
                && verifier.isValidSignature(rsaSignature, for: digest, padding: .insecurePKCS1v1_5)
        case .sha512:
            let digest = SHA512.hash(data: material)
            return Array(digest).prefix(2).elementsEqual(leftHashBits)
                && verifier.isValidSignature(rsaSignature, for: digest, padding: .insecurePKCS1v1_5)
        case .sha1:
            return false
        }
    }

    /// The v4 hash trailer: 0x04 0xFF and the four-octet length of the hashed part (RFC 9580 §5.2.4).
    static func trailer(_ hashedPart: [UInt8]) -> [UInt8] {
        var out = hashedPart
        out.append(0x04)
        out.append(0xFF)
        out.appendUInt32(UInt32(hashedPart.count))
        return out
    }

    /// Builds and signs a v4 signature with SHA-256.
    static func make(
        type: SignatureType,
        signedData: [UInt8],
        hashedSubpackets: [(SubpacketType, [UInt8])],
        issuer: PublicKeyPacket,
        signer: _RSA.Signing.PrivateKey
    ) throws -> Packet {
        var hashedArea: [UInt8] = []
        for (subtype, data) in hashedSubpackets {
            hashedArea.append(contentsOf: encodeSubpacket(subtype, data))
        }
        var hashedPart: [UInt8] = [4, type.rawValue, PublicKeyAlgorithm.rsaEncryptOrSign.rawValue, HashAlgorithm.sha256.rawValue]
        hashedPart.appendUInt16(hashedArea.count)
        hashedPart.append(contentsOf: hashedArea)
        let digest = SHA256.hash(data: signedData + trailer(hashedPart))
        let signature = try signer.signature(for: digest, padding: .insecurePKCS1v1_5)

        var body = hashedPart
        let unhashed = encodeSubpacket(.issuerKeyID, issuer.keyID.bytes)
        body.appendUInt16(unhashed.count)
        body.append(contentsOf: unhashed)
        body.append(contentsOf: Array(digest).prefix(2))
        body.appendMPI(Array(signature.rawRepresentation))
        return Packet(tag: .signature, body: body)
    }

    private static func encodeSubpacket(_ type: SubpacketType, _ data: [UInt8]) -> [UInt8] {
        let length = data.count + 1
        var out: [UInt8] = []
        if length < 192 {
            out.append(UInt8(length))
        } else {
            out.append(0xFF)
            out.appendUInt32(UInt32(length))
        }
        out.append(type.rawValue)
        out.append(contentsOf: data)
        return out
    }
}
