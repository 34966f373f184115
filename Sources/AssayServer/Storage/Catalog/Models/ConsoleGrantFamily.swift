import FluentKit
import Foundation

/// One console's sign-in and every grant and upload token exchanged from it (CON-3), or one
/// operator's upload token. Revocation is written here, once: the exchange and token
/// authentication both read it, so a successor made while a revocation lands is revoked with
/// the family instead of outliving it.
public final class ConsoleGrantFamily: Model, @unchecked Sendable {
    public static let schema = "console_grant_families"

    @ID(key: .id) public var id: UUID?
    @Field(key: "tenant_id") public var tenantID: UUID
    /// The writer who signed in; nil for an operator's upload token.
    @OptionalField(key: "user_id") public var userID: UUID?
    @Field(key: "created_at") public var createdAt: Date
    @OptionalField(key: "revoked_at") public var revokedAt: Date?
    /// When a refused token of the family was last audited: one event per window, however many
    /// requests a stale token makes (issue 17, 9).
    @OptionalField(key: "refusal_audited_at") public var refusalAuditedAt: Date?

    public init() {}

    init(id: UUID, tenantID: UUID, userID: UUID?, now: Date) {
        self.id = id
        self.tenantID = tenantID
        self.userID = userID
        self.createdAt = now
    }
}
