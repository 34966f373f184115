import FluentKit
import Foundation

/// A console's long-lived grant (CON-4): 90 days, rotated at each use; reuse of a used grant
/// revokes its whole family.
public final class ConsoleGrant: Model, @unchecked Sendable {
    public static let schema = "console_grants"

    @ID(key: .id) public var id: UUID?
    @Field(key: "family_id") public var familyID: UUID
    @Field(key: "tenant_id") public var tenantID: UUID
    @Field(key: "user_id") public var userID: UUID
    @Field(key: "token_hash") public var tokenHash: String
    @Field(key: "machine") public var machine: String
    @Field(key: "expires_at") public var expiresAt: Date
    @OptionalField(key: "used_at") public var usedAt: Date?
    @OptionalField(key: "revoked_at") public var revokedAt: Date?
    @Field(key: "created_at") public var createdAt: Date

    public init() {}

    /// `expiresAt` is the family's: 90 days from the sign-in, whatever the exchanges (CON-3).
    init(familyID: UUID, tenantID: UUID, userID: UUID, tokenHash: String, machine: String, now: Date, expiresAt: Date) {
        self.familyID = familyID
        self.tenantID = tenantID
        self.userID = userID
        self.tokenHash = tokenHash
        self.machine = machine
        self.expiresAt = expiresAt
        self.createdAt = now
    }
}
