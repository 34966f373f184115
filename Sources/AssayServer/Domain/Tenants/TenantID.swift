import Foundation

/// A tenant's identity (its GUID, CON-5) as a type of its own, so that a user id or an upload id
/// can never be passed where a tenant is meant.
public struct TenantID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }

    /// Parses a GUID as an operator or a URL gives it.
    public init?(_ text: String) {
        guard let uuid = UUID(uuidString: text) else { return nil }
        self.uuid = uuid
    }

    /// As `UUID` prints itself (upper case): the audit log's subjects keep their form.
    public var description: String { uuid.uuidString }
    /// For file names, database names and what users read.
    public var lowercased: String { uuid.uuidString.lowercased() }

    public init(from decoder: any Decoder) throws { uuid = try decoder.singleValueContainer().decode(UUID.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(uuid)
    }
}
