import Directory
import Foundation
import Subprocess
import SystemPackage

/// Runs scripts through the OpenSSH client (`ssh`), started with swift-subprocess: it brings keys
/// of every kind and the agent, known_hosts, ssh_config (ProxyJump, per-host settings) — what
/// swift-nio-ssh lacks (no RSA keys, no keyboard-interactive). Host keys are always checked:
/// `StrictHostKeyChecking=yes`, so an unknown or changed key stops the connection; `BatchMode`
/// means ssh never waits for a password at a prompt nobody sees.
public struct OpenSSHTransport: RemoteTransport {
    public struct Settings: Codable, Sendable, Equatable {
        public var sshPath: String = "/usr/bin/ssh"
        public var identityFile: String?
        public var knownHostsFile: String?
        public var configFile: String?
        public var connectTimeoutSeconds: Int = 10

        public init() {}
    }

    public let settings: Settings

    public init(settings: Settings) { self.settings = settings }

    /// The ssh command line for a device: options, then `--`, then the destination. Every value
    /// is its own argument; the host was validated when listed, so it cannot pose as an option.
    public func arguments(for device: Device, script: RemoteScript) -> [String] {
        var arguments = [
            "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=\(settings.connectTimeoutSeconds)",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR", "-o", "ClearAllForwardings=yes",
            "-o", "ForwardAgent=no", "-o", "PermitLocalCommand=no", "-p", String(device.port),
            // Nothing of the user's own ssh_config travels to a device: no X11 (-x), no Kerberos
            // tickets (AD-joined estates delegate them otherwise), no tunnel, no remote command of
            // the config's in place of ours, and no shared master connection whose socket another
            // process of the user could ride. A command-line option wins over any config file.
            "-x", "-o", "ForwardX11=no", "-o", "ForwardX11Trusted=no", "-o", "GSSAPIDelegateCredentials=no", "-o", "Tunnel=no",
            "-o", "RemoteCommand=none", "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", "ControlPersist=no",
        ]
        if let user = device.user { arguments += ["-l", user] }
        if let identity = settings.identityFile { arguments += ["-i", identity, "-o", "IdentitiesOnly=yes"] }
        if let knownHosts = settings.knownHostsFile { arguments += ["-o", "UserKnownHostsFile=\(knownHosts)", "-o", "GlobalKnownHostsFile=/dev/null"] }
        if let config = settings.configFile { arguments += ["-F", config] }
        arguments += ["--", device.host, script.command]
        return arguments
    }

    public func run(_ script: RemoteScript, on device: Device, input: RemoteInput, timeout: Duration, output: RemoteOutput) async -> RemoteResult {
        let maxOutputBytes = output.maxBytes
        let arguments = arguments(for: device, script: script)
        let options = {
            var options = PlatformOptions()
            // On a timeout ssh is asked to end, then killed.
            options.teardownSequence = [.send(signal: .terminate, allowedDurationToNextStep: .seconds(2))]
            return options
        }()
        let sshPath: String
        do { sshPath = try Self.locate(settings.sshPath) } catch { return .failed(.unreachable, "\(error)") }
        do {
            return try await withDeadline(timeout) {
                switch input {
                case .bytes(let bytes):
                    return try await Self.ssh(sshPath, arguments, options, input: .array(bytes), output: output)
                case .file(let path):
                    let descriptor = try FileDescriptor.open(FilePath(path), .readOnly, options: .closeOnExec)
                    return try await Self.ssh(
                        sshPath, arguments, options, input: .fileDescriptor(descriptor, closeAfterSpawningProcess: true), output: output)
                }
            } expired: {
                .failed(.timedOut, "no answer within \(timeout.components.seconds) s")
            }
        } catch is OutputOverflow {
            return .failed(.badOutput, "the device sent more than \(maxOutputBytes >> 20) MiB")
        } catch let error as SubprocessError {
            let text = "\(error)"
            if text.contains("exceeded the limit") { return .failed(.badOutput, "the device sent more than \(maxOutputBytes >> 20) MiB") }
            return .failed(.unreachable, "ssh could not be run: \(text.prefix(200))")
        } catch {
            return .failed(.unreachable, "ssh could not be run: \(String(describing: error).prefix(200))")
        }
    }

    struct OutputOverflow: Error {}

    /// One ssh process: its exit 255 is ssh's own failure, any other code the script's.
    private static func ssh<Input: InputProtocol>(
        _ path: String, _ arguments: [String], _ options: PlatformOptions, input: Input, output: RemoteOutput
    ) async throws -> RemoteResult {
        switch output {
        case .memory(let maxBytes):
            let result = try await Subprocess.run(
                .path(FilePath(path)), arguments: Arguments(arguments), environment: .inherit, platformOptions: options, input: input,
                output: .bytes(limit: maxBytes), error: .bytes(limit: 1 << 20))
            return outcome(result.terminationStatus, output: result.standardOutput, error: result.standardError)
        case .file(let file, let maxBytes):
            let descriptor = try FileDescriptor.open(
                FilePath(file), .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: [.ownerReadWrite])
            defer { try? descriptor.close() }
            let result = try await Subprocess.run(
                .path(FilePath(path)), arguments: Arguments(arguments), environment: .inherit, platformOptions: options, input: input,
                output: .sequence, error: .bytes(limit: 1 << 20)
            ) { execution in
                var written = 0
                for try await chunk in execution.standardOutput {
                    written += chunk.count
                    guard written <= maxBytes else {
                        // Stop reading and stop ssh: the rest of the answer never reaches the disk.
                        try? execution.send(signal: .terminate)
                        throw OutputOverflow()
                    }
                    try chunk.withUnsafeBytes { _ = try descriptor.writeAll($0) }
                }
            }
            return outcome(result.terminationStatus, output: [], error: result.standardError)
        }
    }

    private static func outcome(_ status: TerminationStatus, output: [UInt8], error bytes: [UInt8]) -> RemoteResult {
        let error = String(decoding: bytes.suffix(4096), as: UTF8.self)
        switch status {
        case .exited(let code):
            if code == 255 { return .failed(classify(error), firstLine(error)) }
            return .completed(exitCode: code, output: output, error: error)
        case .signaled(let signal):
            return .failed(.unreachable, "ssh ended by signal \(signal)")
        }
    }

    /// The configured ssh, or the system's: never one found on PATH, and only one that passes
    /// `TrustedExecutable` (absolute, owned by root or this user, writable by nobody else).
    static func locate(_ configured: String, systemPaths: [String] = ["/usr/bin/ssh", "/bin/ssh", "/usr/local/bin/ssh"]) throws -> String {
        if configured != Settings().sshPath || FileManager.default.fileExists(atPath: configured) {
            return try TrustedExecutable.check(configured, what: "ssh").path
        }
        guard let found = systemPaths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ConsoleError.input("no ssh client in \(systemPaths.joined(separator: ", ")): install OpenSSH's client, or name it with assay settings --ssh")
        }
        return try TrustedExecutable.check(found, what: "ssh").path
    }

    /// ssh's own failures (exit 255), told apart by its messages.
    static func classify(_ error: String) -> DeviceStatus {
        if error.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || error.contains("Host key for") && error.contains("has changed") {
            return .hostKeyChanged
        }
        if error.contains("Host key verification failed") || error.contains("No ") && error.contains("host key is known") { return .hostKeyUnknown }
        if error.contains("Permission denied") || error.contains("Too many authentication failures") || error.contains("no such identity") {
            return .authenticationFailed
        }
        if error.contains("timed out") { return .timedOut }
        return .unreachable
    }

    static func firstLine(_ error: String) -> String {
        let lines = error.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("@") }
        let interesting = lines.first { !$0.hasPrefix("IT IS POSSIBLE") && !$0.hasPrefix("Someone could") } ?? lines.first ?? "ssh failed"
        return String(interesting.prefix(300))
    }
}
