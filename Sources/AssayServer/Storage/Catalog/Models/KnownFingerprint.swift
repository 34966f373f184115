import FluentKit
import Foundation

/// A system fingerprint the user has confirmed with an e-mailed code (AUTH-6).
public final class KnownFingerprint: Model, @unchecked Sendable {
    public static let schema = "known_fingerprints"

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var user: User
    @Field(key: "digest") public var digest: String
    @Field(key: "verified_at") public var verifiedAt: Date

    public init() {}

    init(userID: UUID, digest: String, verifiedAt: Date) {
        self.$user.id = userID
        self.digest = digest
        self.verifiedAt = verifiedAt
    }
}
