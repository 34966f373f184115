import Crypto
import Foundation

/// Lower-case hex SHA-256: how the catalog stores token, code and fingerprint hashes and the audit chain.
func sha256Hex(_ data: some DataProtocol) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
