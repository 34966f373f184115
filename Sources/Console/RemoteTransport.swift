import Directory

/// How a remote script ended, before the console reads its meaning.
public enum RemoteResult: Sendable {
    /// The script ran; its exit code, standard output (bounded) and the tail of standard error.
    case completed(exitCode: Int32, output: [UInt8], error: String)
    /// The transport could not run it: no connection, no authentication, an unknown or changed
    /// host key, no answer in time, or more output than allowed.
    case failed(DeviceStatus, String)
}

/// A way to run a fixed script on a listed device with bytes on its standard input. The script
/// never contains a value from the device list: host, port and user are the transport's
/// arguments, everything else arrives on standard input. OpenSSH is the one transport today;
/// WinRM would be another (docs/windows.md).
public protocol RemoteTransport: Sendable {
    func run(_ script: RemoteScript, on device: Device, input: RemoteInput, timeout: Duration, output: RemoteOutput) async -> RemoteResult
}

extension RemoteTransport {
    /// Output kept in memory, at most `maxOutputBytes`.
    public func run(_ script: RemoteScript, on device: Device, input: RemoteInput, timeout: Duration, maxOutputBytes: Int) async -> RemoteResult {
        await run(script, on: device, input: input, timeout: timeout, output: .memory(maxBytes: maxOutputBytes))
    }
}

/// Where a script's standard output goes: memory for small answers (a status line, an inventory),
/// or a private file, written as it arrives, for what a device may send in bulk (a consumption
/// campaign's files), so that 32 devices at once never hold their answers in memory. Either way
/// a device that sends more than `maxBytes` is cut off.
public enum RemoteOutput: Sendable {
    case memory(maxBytes: Int)
    /// `.completed`'s output is then empty; the bytes are in the file.
    case file(String, maxBytes: Int)

    var maxBytes: Int {
        switch self {
        case .memory(let maxBytes), .file(_, let maxBytes): maxBytes
        }
    }
}

/// A script's standard input: a few bytes, or a file (the bot and key, the same for every device,
/// written once per scan). A file is read by the transport itself, so a device that hangs up
/// early cannot leave the console blocked on a pipe.
public enum RemoteInput: Sendable {
    case bytes([UInt8])
    case file(String)
}
