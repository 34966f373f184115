#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A transferable public key (RFC 9580 §10.1): an RSA primary key, its user IDs and subkeys, each
/// checked against its self-signature. `encryptionKey` is the key messages are encrypted to.
public struct Certificate: Sendable {
    public let primary: PublicKeyPacket
    public let userIDs: [String]
    /// Subkeys whose binding signature verified, in the order they appear.
    public let subkeys: [PublicKeyPacket]
    /// The newest valid encryption-capable subkey, else the primary key if it may encrypt.
    public let encryptionKey: PublicKeyPacket
    /// Public packets as they were read or made, for export.
    let packets: [Packet]

    public var fingerprint: Fingerprint { primary.fingerprint }
    public var keyID: KeyID { primary.keyID }
    public var bits: Int { encryptionKey.bits }

    /// Reads an armored ("PGP PUBLIC KEY BLOCK" or "PGP PRIVATE KEY BLOCK") or binary key.
    /// Secret material, if present, is ignored.
    public init(importing bytes: some Collection<UInt8>, now: Date = Date()) throws(OpenPGPError) {
        let binary = try KeyBlock.binary(from: bytes)
        let parsed = try KeyBlock.parse(binary)
        self = try Certificate(parsed: parsed, now: now)
    }

    init(parsed: KeyBlock, now: Date) throws(OpenPGPError) {
        let primary = parsed.primary.key
        let nowSeconds = UInt32(clamping: Int(now.timeIntervalSince1970))
        guard primary.algorithm.canSign else {
            throw .invalidKey("primary key \(primary.keyID) cannot certify (encrypt-only RSA)")
        }
        _ = try primary.verificationKey()
        for signature in parsed.primary.signatures where signature.type == SignatureType.keyRevocation.rawValue {
            if signature.verify(signedData: primary.signedForm, by: primary) {
                throw .invalidKey("key \(primary.fingerprint) has been revoked")
            }
        }
        var userIDs: [String] = []
        var primaryFlags: KeyFlags?
        var primaryExpiry: UInt32?
        var newestCertification: UInt32 = 0
        for userID in parsed.userIDs {
            var signed = primary.signedForm
            signed.append(0xB4)
            signed.appendUInt32(UInt32(userID.body.count))
            signed.append(contentsOf: userID.body)
            let valid = userID.signatures.filter {
                (SignatureType(rawValue: $0.type)?.isCertification ?? false) && $0.verify(signedData: signed, by: primary)
            }
            guard !valid.isEmpty else { continue }
            userIDs.append(String(decoding: userID.body, as: UTF8.self))
            for signature in valid where (signature.creationTime ?? 0) >= newestCertification {
                newestCertification = signature.creationTime ?? 0
                primaryFlags = signature.keyFlags
                primaryExpiry = signature.keyExpirationSeconds
            }
        }
        guard !userIDs.isEmpty else {
            throw .invalidKey("key \(primary.fingerprint) has no user ID with a valid self-signature")
        }
        if let primaryExpiry, UInt64(primary.created) + UInt64(primaryExpiry) <= UInt64(nowSeconds) {
            throw .invalidKey("key \(primary.fingerprint) expired")
        }

        var subkeys: [PublicKeyPacket] = []
        var encryptionCandidates: [(key: PublicKeyPacket, since: UInt32)] = []
        for subkey in parsed.subkeys {
            guard let key = subkey.key else { continue }
            let signed = primary.signedForm + key.signedForm
            let revoked = subkey.signatures.contains {
                $0.type == SignatureType.subkeyRevocation.rawValue && $0.verify(signedData: signed, by: primary)
            }
            let bindings = subkey.signatures.filter {
                $0.type == SignatureType.subkeyBinding.rawValue && $0.verify(signedData: signed, by: primary)
            }
            guard !revoked, let binding = bindings.max(by: { ($0.creationTime ?? 0) < ($1.creationTime ?? 0) }) else { continue }
            if let expiry = binding.keyExpirationSeconds, UInt64(key.created) + UInt64(expiry) <= UInt64(nowSeconds) { continue }
            subkeys.append(key)
            let flags = binding.keyFlags ?? (key.algorithm.canEncrypt ? .encrypt : [])
            if key.algorithm.canEncrypt, !flags.isDisjoint(with: .encrypt), (try? key.encryptionKey()) != nil {
                encryptionCandidates.append((key, key.created))
            }
        }
        if let newest = encryptionCandidates.max(by: { $0.since < $1.since }) {
            encryptionKey = newest.key
        } else if primary.algorithm.canEncrypt, !(primaryFlags ?? .encrypt).isDisjoint(with: .encrypt) {
            encryptionKey = primary
        } else {
            throw .invalidKey("key \(primary.fingerprint) has no valid encryption key")
        }
        self.primary = primary
        self.userIDs = userIDs
        self.subkeys = subkeys
        self.packets = parsed.publicPackets
    }

    init(primary: PublicKeyPacket, userIDs: [String], subkeys: [PublicKeyPacket], encryptionKey: PublicKeyPacket, packets: [Packet]) {
        self.primary = primary
        self.userIDs = userIDs
        self.subkeys = subkeys
        self.encryptionKey = encryptionKey
        self.packets = packets
    }

    /// The transferable public key as binary packets.
    public var binary: [UInt8] { packets.flatMap(\.encoded) }

    /// The transferable public key as an ASCII-armored "PGP PUBLIC KEY BLOCK".
    public var armored: String { Armor.encode(binary, as: .publicKey) }
}

/// The packets of one transferable key, grouped by the component each signature belongs to.
struct KeyBlock {
    struct Component {
        var key: PublicKeyPacket
        var secretBody: [UInt8]?
        var signatures: [SignaturePacket] = []
    }

    struct UserIDComponent {
        var body: [UInt8]
        var signatures: [SignaturePacket] = []
    }

    struct SubkeyComponent {
        /// nil when the subkey uses an algorithm we do not implement (it is then skipped).
        var key: PublicKeyPacket?
        var secretBody: [UInt8]?
        var signatures: [SignaturePacket] = []
    }

    var primary: Component
    var userIDs: [UserIDComponent] = []
    var subkeys: [SubkeyComponent] = []
    var publicPackets: [Packet] = []

    static let maxKeyBlockBytes = 1 << 20
    static let maxPackets = 512

    static func binary(from bytes: some Collection<UInt8>) throws(OpenPGPError) -> [UInt8] {
        guard bytes.count <= maxKeyBlockBytes * 2 else { throw .tooLarge("a key block over \(maxKeyBlockBytes) bytes") }
        if Armor.looksArmored(bytes) {
            let (kind, binary) = try Armor.decode(bytes)
            guard kind == .publicKey || kind == .privateKey else {
                throw .malformed("expected a key block, found an armored \(kind.rawValue)")
            }
            return binary
        }
        return Array(bytes)
    }

    static func parse(_ bytes: [UInt8]) throws(OpenPGPError) -> KeyBlock {
        guard bytes.count <= maxKeyBlockBytes else { throw .tooLarge("a key block over \(maxKeyBlockBytes) bytes") }
        var reader = PacketReader(bytes)
        guard let first = try reader.next() else { throw .malformed("empty key block") }
        guard first.tag == .publicKey || first.tag == .secretKey else {
            throw .malformed("a key block must start with a key packet, not \(first.tag)")
        }
        var keyReader = ByteReader(first.body)
        let primaryKey = try PublicKeyPacket.parse(&keyReader)
        var block = KeyBlock(primary: Component(key: primaryKey, secretBody: first.tag == .secretKey ? first.body : nil))
        block.publicPackets.append(Packet(tag: .publicKey, body: primaryKey.body))
        if first.tag == .publicKey, !keyReader.isAtEnd {
            throw .malformed("\(keyReader.remaining) trailing bytes after the primary public key")
        }

        enum Section { case primary, userID, userAttribute, subkey }
        var section = Section.primary
        var count = 1
        while let packet = try reader.next() {
            count += 1
            guard count <= maxPackets else { throw .tooLarge("a key block with more than \(maxPackets) packets") }
            switch packet.tag {
            case .signature:
                guard let signature = try? SignaturePacket.parse(body: packet.body) else { continue }
                switch section {
                case .primary: block.primary.signatures.append(signature)
                case .userID: block.userIDs[block.userIDs.count - 1].signatures.append(signature)
                case .userAttribute: continue
                case .subkey: block.subkeys[block.subkeys.count - 1].signatures.append(signature)
                }
                if section != .userAttribute, section != .subkey || block.subkeys.last?.key != nil {
                    block.publicPackets.append(packet)
                }
            case .userID:
                guard packet.body.count <= 4096 else { throw .tooLarge("a user ID over 4096 bytes") }
                section = .userID
                block.userIDs.append(UserIDComponent(body: packet.body))
                block.publicPackets.append(packet)
            case .userAttribute:
                section = .userAttribute
            case .publicSubkey, .secretSubkey:
                section = .subkey
                var subReader = ByteReader(packet.body)
                do throws(OpenPGPError) {
                    let key = try PublicKeyPacket.parse(&subReader)
                    block.subkeys.append(SubkeyComponent(key: key, secretBody: packet.tag == .secretSubkey ? packet.body : nil))
                    block.publicPackets.append(Packet(tag: .publicSubkey, body: key.body))
                } catch {
                    // A subkey of an algorithm we do not implement (ECDH, EdDSA …) is skipped, not fatal.
                    guard case .unsupported = error else { throw error }
                    block.subkeys.append(SubkeyComponent(key: nil))
                }
            case .trust, .marker, .padding:
                continue
            case .publicKey, .secretKey:
                throw .unsupported("more than one key in one block; import them one at a time")
            default:
                throw .malformed("unexpected \(packet.tag) in a key block")
            }
        }
        return block
    }
}
