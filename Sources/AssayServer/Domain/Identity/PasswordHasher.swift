import Crypto
import CryptoExtras
import Foundation

/// PBKDF2-HMAC-SHA256 (AUTH-5) in a self-describing format, so the cost can be raised later and
/// old hashes upgraded at the next sign-in:  pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>
public struct PasswordHasher: Sendable {
    /// OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
    public static let defaultIterations = 600_000
    public let iterations: Int

    public init(iterations: Int = PasswordHasher.defaultIterations) {
        self.iterations = iterations
    }

    public func hash(_ password: String) throws -> String {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }
        let derived = try derive(password, salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(salt.base64EncodedString())$\(derived.base64EncodedString())"
    }

    public enum Verification: Equatable, Sendable {
        case mismatch
        case match
        /// Correct, but hashed with a lower cost than today's: store `hash(password)` again.
        case matchNeedsRehash
    }

    public func verify(_ password: String, against stored: String) -> Verification {
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let rounds = Int(parts[1]), rounds >= 1000, rounds <= 10_000_000,
            let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3])),
            let derived = try? derive(password, salt: salt, iterations: rounds)
        else { return .mismatch }
        // Constant time: the comparison does not reveal how many bytes matched.
        guard constantTimeEquals(derived, expected) else { return .mismatch }
        return rounds < iterations ? .matchNeedsRehash : .match
    }

    private func derive(_ password: String, salt: Data, iterations: Int) throws -> Data {
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations
        )
        return key.withUnsafeBytes { Data($0) }
    }
}
