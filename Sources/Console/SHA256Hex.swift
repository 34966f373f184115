import Crypto
import Foundation

/// Lower-case hex: the spool's file names, the bot's checksum on the device, the service's
/// idempotency key and the console's machine id are all this one form.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// A body's SHA-256 in lower-case hex.
func sha256Hex(_ bytes: some DataProtocol) -> String {
    hex(SHA256.hash(data: bytes))
}
