/// The version of every document the bot writes. The service refuses versions it does not know,
/// so a newer bot never has its data misread by an older service.
public enum Schema {
    public static let version = 1
}

/// What kind of document a file holds.
public enum DocumentKind: String, Codable, Sendable {
    case inventory
    case consumption
    case connections
}

/// Identifies the machine without naming anyone: a hash of /etc/machine-id (or the DMI product
/// UUID), never a host name, so that renaming a server does not make it a new device.
public struct DeviceIdentity: Codable, Sendable, Equatable {
    public var id: String
    public var hostname: String
    public var fqdn: String?

    public init(id: String, hostname: String, fqdn: String?) {
        self.id = id
        self.hostname = hostname
        self.fqdn = fqdn
    }
}

/// Something a probe could not read; the scan goes on without it.
public struct ProbeWarning: Codable, Sendable, Equatable, CustomStringConvertible {
    public var probe: String
    public var message: String

    public init(probe: String, message: String) {
        self.probe = probe
        self.message = message
    }

    public var description: String { "\(probe): \(message)" }
}

/// Envelope fields every document starts with.
public struct DocumentHeader: Codable, Sendable, Equatable {
    public var schema: Int
    public var kind: DocumentKind
    public var botVersion: String
    /// Seconds since 1970-01-01 UTC.
    public var collectedAt: Int64
    public var device: DeviceIdentity

    public init(kind: DocumentKind, botVersion: String, collectedAt: Int64, device: DeviceIdentity) {
        self.schema = Schema.version
        self.kind = kind
        self.botVersion = botVersion
        self.collectedAt = collectedAt
        self.device = device
    }
}
