import FluentKit
import Foundation

/// A signed-in browser (AUTH-8, AUTH-10): the token is only in the user's cookie; the catalog keeps
/// its SHA-256. Absolute lifetime 24 hours from sign-in, whatever the rotations.
public final class Session: Model, @unchecked Sendable {
    public static let schema = "sessions"
    public static let lifetime: TimeInterval = 24 * 3600

    @ID(key: .id) public var id: UUID?
    @Parent(key: "user_id") public var user: User
    @Field(key: "tenant_id") public var tenantID: UUID
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "fingerprint") public var fingerprint: String
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "rotated_at") public var rotatedAt: Date
    @Field(key: "expires_at") public var expiresAt: Date
    /// The session's CSRF token (AUTH-10): stable across token rotations so that open pages keep
    /// working, worthless without the session cookie, compared in constant time.
    @Field(key: "csrf_token") public var csrfToken: String
    /// The token this one replaced, accepted until `previousValidUntil` (rotation grace).
    @OptionalField(key: "previous_token_hash") public var previousTokenHash: String?
    @OptionalField(key: "previous_valid_until") public var previousValidUntil: Date?
    /// When a request last used the session (to the minute): the idle timeout counts from here.
    @OptionalField(key: "last_seen_at") public var lastSeenAt: Date?

    public init() {}

    init(userID: UUID, tenantID: UUID, tokenHash: String, fingerprint: String, now: Date) {
        self.csrfToken = SecretToken(prefix: "csrf_").value
        self.$user.id = userID
        self.tenantID = tenantID
        self.tokenHash = tokenHash
        self.fingerprint = fingerprint
        self.createdAt = now
        self.rotatedAt = now
        self.expiresAt = now.addingTimeInterval(Session.lifetime)
        self.lastSeenAt = now
    }
}
