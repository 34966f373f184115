import FluentKit
import Foundation

/// An upload-only token (CON-3): 12 hours, accepted by the upload endpoints and nowhere else.
public final class UploadToken: Model, @unchecked Sendable {
    public static let schema = "upload_tokens"

    @ID(key: .id) public var id: UUID?
    @Field(key: "family_id") public var familyID: UUID
    @Field(key: "tenant_id") public var tenantID: UUID
    /// The writer whose console holds it; nil for an operator's token.
    @OptionalField(key: "user_id") public var userID: UUID?
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "revoked_at") public var revokedAt: Date?
    @Field(key: "created_at") public var createdAt: Date

    public init() {}

    init(familyID: UUID, tenantID: UUID, userID: UUID?, tokenHash: String, now: Date, expiresAt: Date) {
        self.familyID = familyID
        self.tenantID = tenantID
        self.userID = userID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.createdAt = now
    }
}
