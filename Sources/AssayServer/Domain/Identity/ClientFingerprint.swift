import Crypto
import Foundation

/// What AUTH-6 calls the user's system: client IP, browser name and major version, and the display
/// resolution the sign-in page reports. Only its SHA-256 is stored.
public struct ClientFingerprint: Sendable, Equatable {
    public var ipAddress: String
    public var browser: String
    public var resolution: String

    public init(ipAddress: String, browser: String, resolution: String) {
        self.ipAddress = ipAddress
        self.browser = browser
        self.resolution = resolution
    }

    public var digest: String {
        let material = [ipAddress, browser, resolution].map { "\($0.utf8.count):\($0)" }.joined()
        return sha256Hex(Data(material.utf8))
    }
}
