import Crypto
import Foundation

/// A bearer secret (invitation link, session, upload token): 256 random bits, shown once, stored
/// only as its SHA-256. The prefix makes a leaked token recognisable in logs and pastes.
public struct SecretToken: Sendable {
    public let value: String

    public init(prefix: String) {
        let random = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        value = prefix + random.base64URLEncoded
    }

    /// What the database keeps: hex SHA-256 of the token.
    public var hash: String { Self.hash(value) }

    public static func hash(_ token: String) -> String {
        sha256Hex(Data(token.utf8))
    }
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
