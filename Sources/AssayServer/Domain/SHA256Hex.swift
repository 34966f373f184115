import Crypto
import Foundation

/// Lower-case hex SHA-256: how the catalog stores token, code and fingerprint hashes and the audit chain.
public func sha256Hex(_ data: some DataProtocol) -> String {
    lowercaseHex(SHA256.hash(data: data))
}

/// Bytes as lower-case hex, two digits each.
func lowercaseHex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var hex: [UInt8] = []
    hex.reserveCapacity(64)
    for byte in bytes {
        hex.append(digits[Int(byte >> 4)])
        hex.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: hex, as: UTF8.self)
}
