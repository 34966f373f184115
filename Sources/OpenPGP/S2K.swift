import Crypto

/// String-to-key specifiers (RFC 9580 §3.7): how a passphrase becomes a symmetric key.
/// Only the salted forms with a SHA-2 or SHA-1 hash are accepted; simple S2K is refused.
struct S2K: Equatable {
    let hash: HashAlgorithm
    let salt: [UInt8]
    /// The coded count octet of iterated+salted S2K (RFC 9580 §3.7.1.3); nil for plain salted.
    let codedCount: UInt8?

    /// 65,011,712 bytes hashed: GnuPG's maximum, ~0.2 s on this machine.
    static func iteratedSHA256() -> S2K {
        S2K(hash: .sha256, salt: Array(SymmetricKey(size: .init(bitCount: 64)).withUnsafeBytes { Array($0) }), codedCount: 0xFF)
    }

    var encoded: [UInt8] {
        var out: [UInt8] = [codedCount == nil ? 1 : 3, hash.rawValue]
        out.append(contentsOf: salt)
        if let codedCount { out.append(codedCount) }
        return out
    }

    static func parse(_ reader: inout ByteReader) throws(OpenPGPError) -> S2K {
        let type = try reader.readByte("S2K type")
        switch type {
        case 1, 3:
            let hash = try HashAlgorithm.from(try reader.readByte("S2K hash"))
            let salt = try reader.readBytes(8, "S2K salt")
            let count = type == 3 ? try reader.readByte("S2K count") : nil
            return S2K(hash: hash, salt: salt, codedCount: count)
        case 0:
            throw .unsupported("simple (unsalted) S2K")
        case 101:
            throw .unsupported("GnuPG secret key stub (the secret part is not in this export)")
        default:
            throw .unsupported("S2K type \(type)")
        }
    }

    /// Number of bytes to hash (RFC 9580 §3.7.1.3): (16 + low nibble) << (high nibble + 6).
    var byteCount: Int {
        guard let codedCount else { return salt.count }
        return (16 + Int(codedCount & 15)) << (Int(codedCount >> 4) + 6)
    }

    /// Derives `keySize` bytes. Several hash contexts are preloaded with 0, 1, 2 … zero bytes
    /// when one digest is not long enough (RFC 9580 §3.7.1.1).
    func deriveKey(passphrase: [UInt8], keySize: Int) -> [UInt8] {
        let input = salt + passphrase
        let total = max(byteCount, input.count)
        var key: [UInt8] = []
        var preload = 0
        while key.count < keySize {
            let digest = hashRepeated(input, totalBytes: total, zeroPrefix: preload)
            key.append(contentsOf: digest)
            preload += 1
        }
        return Array(key.prefix(keySize))
    }

    private func hashRepeated(_ input: [UInt8], totalBytes: Int, zeroPrefix: Int) -> [UInt8] {
        switch hash {
        case .sha1: return Self.run(Insecure.SHA1(), input, totalBytes, zeroPrefix)
        case .sha256: return Self.run(SHA256(), input, totalBytes, zeroPrefix)
        case .sha384: return Self.run(SHA384(), input, totalBytes, zeroPrefix)
        case .sha512: return Self.run(SHA512(), input, totalBytes, zeroPrefix)
        }
    }

    private static func run<H: HashFunction>(_ hasher: H, _ input: [UInt8], _ total: Int, _ zeroPrefix: Int) -> [UInt8] {
        var hasher = hasher
        if zeroPrefix > 0 { hasher.update(data: [UInt8](repeating: 0, count: zeroPrefix)) }
        // Hash whole copies in large blocks, then the leftover prefix.
        let copiesPerBlock = max(1, 65_536 / max(1, input.count))
        let block = [UInt8](Array(repeating: input, count: copiesPerBlock).joined())
        var remaining = total
        while remaining >= block.count {
            hasher.update(data: block)
            remaining -= block.count
        }
        if remaining > 0 { hasher.update(data: block.prefix(remaining)) }
        return Array(hasher.finalize())
    }
}
