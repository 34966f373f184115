/// What happened to one device, as the console reports it (CON-2).
public enum DeviceStatus: String, Codable, Sendable, CaseIterable {
    case done
    case unreachable
    case authenticationFailed = "authentication-failed"
    case hostKeyUnknown = "host-key-unknown"
    case hostKeyChanged = "host-key-changed"
    case notLinux = "not-linux"
    case botFailed = "bot-failed"
    case timedOut = "timed-out"
    /// The device answered, but not with an encrypted file for this tenant: nothing kept.
    case badOutput = "bad-output"
    /// A consumption scan runs on the device.
    case sampling
    /// A consumption scan was not running (finished, or never started).
    case notRunning = "not-running"
    /// A consumption scan was asked for where one runs already: refused.
    case alreadySampling = "already-sampling"
}
