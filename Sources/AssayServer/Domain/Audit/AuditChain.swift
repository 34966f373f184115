import Crypto
import Foundation

/// The audit log's tamper evidence (SEC-4): each event's hash covers its own fields and the hash
/// of the event before it, so editing, deleting or reordering a row breaks every hash after it.
public struct AuditRecord: Sendable, Equatable {
    public var sequence: Int64
    public var occurredAt: Date
    public var tenantID: TenantID?
    public var actor: String
    public var action: String
    public var subject: String
    public var detail: String
    public var previousHash: String
    public var hash: String
    /// Which chain the event belongs to (its tenant's, the operator's, or `deployment`); not part
    /// of the hash: the tenant field, which is, names it.
    public var chain: String

    public init(
        sequence: Int64, occurredAt: Date, tenantID: TenantID?, actor: String, action: String, subject: String, detail: String, previousHash: String,
        hash: String = "", chain: String = AuditChain.deploymentChain
    ) {
        self.sequence = sequence
        self.occurredAt = occurredAt
        self.tenantID = tenantID
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
        self.previousHash = previousHash
        self.hash = hash
        self.chain = chain
    }
}

public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)

    /// Length-prefixed fields, so that no two different records serialize alike.
    public static func computeHash(_ record: AuditRecord) -> String {
        var material = Data()
        func field(_ text: String) {
            let bytes = Data(text.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { material.append(contentsOf: $0) }
            material.append(bytes)
        }
        field(String(record.sequence))
        field(String(Int64((record.occurredAt.timeIntervalSince1970 * 1000).rounded())))
        field(record.tenantID?.uuid.uuidString ?? "")
        field(record.actor)
        field(record.action)
        field(record.subject)
        field(record.detail)
        field(record.previousHash)
        return sha256Hex(material)
    }

    public enum Break: Equatable, Sendable, CustomStringConvertible {
        case gap(expected: Int64, found: Int64)
        case previousHashMismatch(sequence: Int64)
        case hashMismatch(sequence: Int64)

        public var description: String {
            switch self {
            case .gap(let expected, let found): "event \(expected) is missing (found \(found) next)"
            case .previousHashMismatch(let sequence): "event \(sequence) does not follow the event before it"
            case .hashMismatch(let sequence): "event \(sequence) was altered after it was written"
            }
        }
    }

    /// Checks records in sequence order; returns the first break, or nil when the chain is whole.
    public static func verify(_ records: some Sequence<AuditRecord>) -> Break? {
        var expectedSequence: Int64 = 1
        var previous = genesis
        for record in records {
            if record.sequence != expectedSequence { return .gap(expected: expectedSequence, found: record.sequence) }
            if record.previousHash != previous { return .previousHashMismatch(sequence: record.sequence) }
            if computeHash(record) != record.hash { return .hashMismatch(sequence: record.sequence) }
            previous = record.hash
            expectedSequence += 1
        }
        return nil
    }
}

extension AuditChain {
    /// The chain of a tenant's events, and of the operator's (no tenant).
    public static func chain(for tenantID: TenantID?) -> String { tenantID?.lowercased ?? operatorChain }
    public static let operatorChain = "operator"
    /// Every event written before chains were split by tenant (catalog migration M011).
    public static let deploymentChain = "deployment"

    /// The newest event of a chain, as an operator keeps it elsewhere: one line, `chain sequence hash`.
    public struct Head: Sendable, Equatable {
        public let chain: String
        public let sequence: Int64
        public let hash: String

        public var line: String { "\(chain) \(sequence) \(hash)" }

        public init(chain: String, sequence: Int64, hash: String) {
            self.chain = chain
            self.sequence = sequence
            self.hash = hash
        }

        public init?(line: String) {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let sequence = Int64(parts[1]), parts[2].count == 64, parts[2].allSatisfy(\.isHexDigit) else { return nil }
            self.init(chain: String(parts[0]), sequence: sequence, hash: String(parts[2]))
        }
    }
}
