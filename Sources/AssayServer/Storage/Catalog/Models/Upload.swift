import FluentKit
import Foundation

/// One acknowledged upload (ING-1): its encrypted body is in the spool under `spoolKey`; this row is
/// the queue entry the ingest workers claim.
public final class Upload: Model, @unchecked Sendable {
    public static let schema = "uploads"

    public enum State: String, Codable, Sendable { case queued, processing, done, failed }

    @ID(key: .id) public var id: UUID?
    @Field(key: "tenant_id") public var tenantID: UUID
    /// Who uploaded it: a writer's console, or nil for an operator's token (`assay-server upload-token`).
    @OptionalField(key: "user_id") public var userID: UUID?
    /// SHA-256 of the encrypted body, hex: the idempotency key.
    @Field(key: "sha256") public var sha256: String
    @Field(key: "size") public var size: Int64
    @Field(key: "spool_key") public var spoolKey: String
    @Field(key: "state") public var state: State
    @Field(key: "attempts") public var attempts: Int
    /// Why it failed, in words that name no secret.
    @OptionalField(key: "failure") public var failure: String?
    /// What the document turned out to be (inventory, consumption, connections) and for which device.
    @OptionalField(key: "kind") public var kind: String?
    @OptionalField(key: "device_id") public var deviceID: String?
    @OptionalField(key: "claimed_by") public var claimedBy: String?
    @OptionalField(key: "claimed_until") public var claimedUntil: Date?
    @Field(key: "next_attempt_at") public var nextAttemptAt: Date
    @Field(key: "created_at") public var createdAt: Date
    @Field(key: "updated_at") public var updatedAt: Date

    public init() {}

    init(id: UUID, tenantID: UUID, userID: UUID?, sha256: String, size: Int64, spoolKey: String, now: Date) {
        self.id = id
        self.tenantID = tenantID
        self.userID = userID
        self.sha256 = sha256
        self.size = size
        self.spoolKey = spoolKey
        self.state = .queued
        self.attempts = 0
        self.nextAttemptAt = now
        self.createdAt = now
        self.updatedAt = now
    }
}
