import FluentKit
import Foundation

/// A pending second step: a 7-digit code sent by e-mail, bound to one sign-in attempt (AUTH-6).
public final class SignInChallenge: Model, @unchecked Sendable {
    public static let schema = "sign_in_challenges"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var user: User
    /// SHA-256 of the attempt token handed to the browser that signed in.
    @Field(key: "attempt_hash") public var attemptHash: String
    /// SHA-256 of attempt token and code together: the code alone is never stored.
    @Field(key: "code_hash") public var codeHash: String
    @Field(key: "fingerprint") public var fingerprint: String
    @Field(key: "tries") public var tries: Int
    @Field(key: "expires_at") public var expiresAt: Date

    public init() {}

    init(userID: UUID, attemptHash: String, codeHash: String, fingerprint: String, expiresAt: Date) {
        self.$user.id = userID
        self.attemptHash = attemptHash
        self.codeHash = codeHash
        self.fingerprint = fingerprint
        self.tries = 0
        self.expiresAt = expiresAt
    }
}
