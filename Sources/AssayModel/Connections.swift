/// TCP connections seen during a consumption scan (COL-3), merged across snapshots.
public struct ConnectionsDocument: Codable, Sendable, Equatable {
    public var header: DocumentHeader
    public var snapshots: Int
    public var connections: [Connection]
    public var warnings: [ProbeWarning]

    public init(header: DocumentHeader, snapshots: Int, connections: [Connection], warnings: [ProbeWarning]) {
        self.header = header
        self.snapshots = snapshots
        self.connections = connections
        self.warnings = warnings
    }
}

public struct Connection: Codable, Sendable, Equatable, Hashable {
    public enum Direction: String, Codable, Sendable { case inbound, outbound }

    public var localAddress: String
    /// For inbound connections the local (listening) port; for outbound the local port is
    /// ephemeral and recorded as 0 (and the remote port of an inbound one), so that repeated
    /// connections merge into one row.
    public var localPort: Int
    public var remoteAddress: String
    public var remotePort: Int
    public var state: String
    public var direction: Direction
    /// The owning process name (comm), never its arguments.
    public var process: String?
    /// True when either end is a database engine (by process or well-known port): "SQL connections".
    public var database: Bool
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var count: Int

    public init(
        localAddress: String, localPort: Int, remoteAddress: String, remotePort: Int, state: String,
        direction: Direction, process: String?, database: Bool, firstSeen: Int64, lastSeen: Int64, count: Int
    ) {
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.state = state
        self.direction = direction
        self.process = process
        self.database = database
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.count = count
    }
}
