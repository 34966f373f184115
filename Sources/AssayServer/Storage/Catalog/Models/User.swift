import FluentKit
import Foundation

/// A portal user of one tenant. The e-mail is unique across the deployment (AUTH-2), stored
/// lower-case; the password only as a PBKDF2 hash (AUTH-5).
public final class User: Model, @unchecked Sendable {
    public static let schema = "users"

    public enum State: String, Codable, Sendable { case active, disabled }

    // MARK: stored fields
    @ID(key: .id) public var id: UUID?
    @Parent(key: "tenant_id") public var tenant: Tenant
    @Field(key: "email") public var email: String
    @Field(key: "name") public var name: String
    @Field(key: "phone") public var phone: String
    @Field(key: "password_hash") public var passwordHash: String
    /// Comma-separated claims: read, write, edit, admin (AUTH-9).
    @Field(key: "claims") public var claims: String
    @Enum(key: "state") public var state: State
    @Field(key: "failed_attempts") public var failedAttempts: Int
    @OptionalField(key: "locked_until") public var lockedUntil: Date?
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    @OptionalField(key: "last_active_at") public var lastActiveAt: Date?

    public init() {}

    public init(id: UUID? = nil, tenantID: UUID, email: String, name: String, phone: String, passwordHash: String, claims: [Claim]) {
        self.id = id
        self.$tenant.id = tenantID
        self.email = email
        self.name = name
        self.phone = phone
        self.passwordHash = passwordHash
        self.claims = Claim.encode(claims)
        self.state = .active
        self.failedAttempts = 0
    }

    // MARK: finders
    public static func find(email: String, on database: any Database) async throws -> User? {
        try await User.query(on: database).filter(\.$email == email.lowercased()).first()
    }
}
