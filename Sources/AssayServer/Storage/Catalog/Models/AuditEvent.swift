import FluentKit
import Foundation

/// One row of the append-only, hash-chained audit log (SEC-4).
public final class AuditEvent: Model, @unchecked Sendable {
    public static let schema = "audit_events"

    // MARK: stored fields
    @ID(key: .id) public var id: UUID?
    /// The tenant's chain, the operator's, or `deployment` (events from before M011).
    @Field(key: "chain") public var chain: String
    @Field(key: "sequence") public var sequence: Int64
    @Field(key: "occurred_at") public var occurredAt: Date
    @OptionalField(key: "tenant_id") public var tenantID: UUID?
    @Field(key: "actor") public var actor: String
    @Field(key: "action") public var action: String
    @Field(key: "subject") public var subject: String
    @Field(key: "detail") public var detail: String
    @Field(key: "previous_hash") public var previousHash: String
    @Field(key: "hash") public var hash: String

    public init() {}

    init(_ record: AuditRecord) {
        chain = record.chain
        sequence = record.sequence
        occurredAt = record.occurredAt
        tenantID = record.tenantID?.uuid
        actor = record.actor
        action = record.action
        subject = record.subject
        detail = record.detail
        previousHash = record.previousHash
        hash = record.hash
    }

    var record: AuditRecord {
        AuditRecord(
            sequence: sequence, occurredAt: occurredAt, tenantID: tenantID.map(TenantID.init), actor: actor, action: action,
            subject: subject, detail: detail, previousHash: previousHash, hash: hash, chain: chain)
    }
}
