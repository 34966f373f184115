import FluentKit
import Foundation

/// A customer organisation: identified by a GUID (CON-5), hosted in one region (ING-2).
public final class Tenant: Model, @unchecked Sendable {
    public static let schema = "tenants"

    public enum State: String, Codable, Sendable { case active, locked, purged }

    // MARK: stored fields
    @ID(key: .id) public var id: UUID?
    @Field(key: "name") public var name: String
    @Field(key: "region") public var region: String
    @Enum(key: "state") public var state: State
    @Timestamp(key: "created_at", on: .create) public var createdAt: Date?
    /// Set when an unwrap broke the pattern (KEY-4): ingestion stops until an operator unlocks.
    @OptionalField(key: "key_locked_at") public var keyLockedAt: Date?
    @OptionalField(key: "key_lock_reason") public var keyLockReason: String?

    public init() {}

    public init(id: UUID? = nil, name: String, region: String) {
        self.id = id
        self.name = name
        self.region = region
        self.state = .active
    }
}
