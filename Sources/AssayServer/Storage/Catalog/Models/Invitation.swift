import FluentKit
import Foundation

/// An invitation to join a tenant (AUTH-1, AUTH-3): single use, valid 48 hours, the link's token
/// stored only as its SHA-256.
public final class Invitation: Model, @unchecked Sendable {
    public static let schema = "invitations"

    // MARK: stored fields
    @ID(key: .id) public var id: UUID?
    @Parent(key: "tenant_id") public var tenant: Tenant
    @Field(key: "email") public var email: String
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "claims") public var claims: String
    /// "operator" for the first administrator, else the inviting user's id.
    @Field(key: "invited_by") public var invitedBy: String
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "used_at") public var usedAt: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

    public init() {}

    public init(tenantID: UUID, email: String, tokenHash: String, claims: [Claim], invitedBy: String, expiresAt: Date) {
        self.$tenant.id = tenantID
        self.email = email
        self.tokenHash = tokenHash
        self.claims = Claim.encode(claims)
        self.invitedBy = invitedBy
        self.expiresAt = expiresAt
    }
}
