/// One device's result in a scan.
public struct DeviceOutcome: Codable, Sendable {
    public let host: String
    public let port: Int
    public let status: DeviceStatus
    public let message: String
    /// Files that went to the spool.
    public var files: Int = 0
    public var bytes: Int = 0
    public var seconds: Double = 0
}
