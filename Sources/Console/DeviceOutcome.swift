import Directory
import Foundation

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

    public init(host: String, port: Int, status: DeviceStatus, message: String) {
        self.host = host
        self.port = port
        self.status = status
        // What a device said is printed and kept: never its escape sequences.
        self.message = TerminalText.clean(message)
    }

    public init(_ device: Device, _ status: DeviceStatus, _ message: String) {
        self.init(host: device.host, port: device.port, status: status, message: message)
    }

    /// A remote script's exit code in words (RemoteScript's table), with its last `assay:` line.
    init(scriptExit code: Int32, error: String, _ device: Device) {
        let message =
            error.split(whereSeparator: \.isNewline).last { $0.hasPrefix("assay: ") }.map { String($0.dropFirst(7)) }
            ?? String(error.suffix(300)).trimmingCharacters(in: .whitespacesAndNewlines)
        let status: DeviceStatus =
            switch code {
            case 65: .notLinux
            case 71: .notRunning
            case 74: .timedOut
            default: .botFailed
            }
        let shown = message.isEmpty ? "the remote script exited with status \(code)" : message
        self.init(device, status, String(shown.prefix(400)))
    }
}
