import Directory
import Foundation
import OpenPGP
import Synchronization
import Testing

@testable import Console

/// Issue 17: attacks on the console that used to work. Each test was seen failing without its fix.
@Suite("Console under attack")
struct ConsoleAttackTests {
    static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-attack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: Data = Data()) throws -> (
        status: Int32, output: String, error: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }

    // MARK: 7. ssh inherits nothing of the user's forwarding settings

    @Test("a hostile ssh_config cannot turn on X11, Kerberos delegation, tunnels, a remote command or a shared master")
    func sshIgnoresForwardingSettings() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("ssh_config")
        try """
        Host *
          ForwardX11 yes
          ForwardX11Trusted yes
          ForwardAgent yes
          GSSAPIDelegateCredentials yes
          ControlMaster auto
          ControlPath \(directory.path)/cm-%r@%h:%p
          ControlPersist yes
          Tunnel yes
          RemoteCommand touch \(directory.path)/pwned

        """.write(to: config, atomically: true, encoding: .utf8)
        var settings = OpenSSHTransport.Settings()
        settings.configFile = config.path
        let arguments = OpenSSHTransport(settings: settings).arguments(for: Device(host: "web01.acme.test"), script: .inventory)
        // `ssh -G` prints the configuration ssh would use, without connecting.
        let separator = try #require(arguments.firstIndex(of: "--"))
        let effective = try Self.run("/usr/bin/ssh", ["-G"] + arguments[..<separator] + ["--", "web01.acme.test"])
        #expect(effective.status == 0, "\(effective.error)")
        let lines = Set(effective.output.split(separator: "\n").map(String.init))
        for expected in [
            "forwardx11 no", "forwardx11trusted no", "forwardagent no", "gssapidelegatecredentials no", "controlmaster false", "controlpersist no",
            "tunnel false",
        ] {
            #expect(lines.contains(expected), "ssh -G lacks \(expected)")
        }
        #expect(!effective.output.contains("controlpath \(directory.path)"))
        #expect(!effective.output.contains("remotecommand touch"))
    }

    // MARK: 8. terminal escapes

    @Test("what a device, a directory or the service says is kept and printed without control characters")
    func terminalEscapesAreStripped() {
        let hostile = "not Linux: \u{1B}]0;owned\u{07}\u{1B}[2J\u{1B}[1A\u{9B}31m\u{202E}txt.exe\r"
        let outcome = DeviceOutcome(scriptExit: 65, error: "assay: \(hostile)\n", Device(host: "web01.acme.test"))
        #expect(outcome.status == .notLinux)
        #expect(
            !outcome.message.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{202E}" },
            "\(outcome.message.debugDescription)")
        #expect(outcome.message.hasPrefix("not Linux: ?]0;owned??[2J"))
        #expect(TerminalText.clean("two\nlines\tand a tab", keepLineBreaks: true) == "two\nlines\tand a tab")
        #expect(TerminalText.clean("two\nlines") == "two?lines")
    }

    // MARK: 10. the bot and ssh never come from PATH

    @Test("the bot is never taken from PATH; relative, foreign and writable-by-others bots are refused; a pinned bot must match")
    func botLocation() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let onPath = directory.appendingPathComponent("path")
        let beside = directory.appendingPathComponent("beside")
        for folder in [onPath, beside] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        func makeBot(_ url: URL, mode: Int = 0o755, content: String = "#!/bin/sh\necho bot\n") throws {
            try content.write(to: url, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        }
        try makeBot(onPath.appendingPathComponent("assay-bot"))
        // Nothing beside the console: PATH is not searched.
        #expect(throws: ConsoleError.self) {
            try BotPayload.locateBot(explicit: nil, environment: ["PATH": onPath.path + ":."], besideDirectory: beside, pinnedSHA256: nil)
        }
        // ASSAY_BOT must be absolute.
        #expect(throws: ConsoleError.self) {
            try BotPayload.locateBot(explicit: nil, environment: ["ASSAY_BOT": "assay-bot"], besideDirectory: beside, pinnedSHA256: nil)
        }
        // A bot others can change is refused, wherever it is named.
        let writable = beside.appendingPathComponent("assay-bot")
        try makeBot(writable, mode: 0o777)
        chmod(writable.path, 0o777)  // past the umask
        #expect(throws: ConsoleError.self) { try BotPayload.locateBot(explicit: nil, environment: [:], besideDirectory: beside, pinnedSHA256: nil) }
        #expect(throws: ConsoleError.self) { try BotPayload.locateBot(explicit: writable.path, environment: [:], besideDirectory: beside, pinnedSHA256: nil) }
        // The shipped one, with its pinned digest.
        try makeBot(writable, mode: 0o755)
        let digest = sha256Hex(try Data(contentsOf: writable))
        #expect(try BotPayload.locateBot(explicit: nil, environment: [:], besideDirectory: beside, pinnedSHA256: digest) == writable)
        #expect(throws: ConsoleError.self) {
            try BotPayload.locateBot(explicit: nil, environment: [:], besideDirectory: beside, pinnedSHA256: String(repeating: "0", count: 64))
        }
        // A relative --bot is made absolute against the working directory, then checked the same way.
        let relative = try BotPayload.locateBot(
            explicit: writable.path.replacingOccurrences(of: directory.path, with: directory.path + "/./path/.."), environment: [:],
            besideDirectory: onPath, pinnedSHA256: nil)
        #expect(relative.path == writable.path)
    }

    @Test("ssh is the configured absolute path or the system's, never PATH's")
    func sshLocation() throws {
        #expect(throws: ConsoleError.self) { try OpenSSHTransport.locate("ssh") }
        #expect(throws: ConsoleError.self) { try OpenSSHTransport.locate("./ssh") }
        #expect(try OpenSSHTransport.locate("/usr/bin/ssh") == "/usr/bin/ssh")
        #expect(throws: ConsoleError.self) { try OpenSSHTransport.locate("/nonexistent/ssh") }
    }

    // MARK: 11. the remote script owns its variables

    /// A bot that cannot run from `$TMPDIR` (as on a noexec mount) and writes a file when asked.
    static let fakeBot = """
        #!/bin/sh
        case "$0" in "$TMPDIR"/*) exit 126;; esac
        [ "$1" = version ] && { echo fake; exit 0; }
        while [ $# -gt 0 ]; do [ "$1" = --out ] && { echo encrypted > "$2"; }; shift; done
        exit 0

        """

    static func payload(bot: String) -> Data {
        let bytes = Data(bot.utf8)
        let digest = sha256Hex(bytes)
        var payload = Data("\(bytes.count) \(digest) 60\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n-----END PGP PUBLIC KEY BLOCK-----\n".utf8)
        payload.append(contentsOf: try! Gzip.compress(Array(bytes)))
        return payload
    }

    @Test("a login environment's d, e or IFS cannot steer the script's rm -rf; a failed move in the noexec fallback leaves nothing")
    func remoteScriptVariables() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let victim = directory.appendingPathComponent("victim")
        let temporary = directory.appendingPathComponent("tmp")
        let home = directory.appendingPathComponent("home")
        let tools = directory.appendingPathComponent("tools")
        for folder in [victim, temporary, home, tools] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try Data("keep me".utf8).write(to: victim.appendingPathComponent("precious"))
        var environment = [
            "PATH": "/usr/bin:/bin", "TMPDIR": temporary.path, "HOME": home.path, "d": victim.path, "e": victim.path, "IFS": "/",
        ]

        // A malformed header ends the script before it makes its directory: the EXIT trap must not
        // remove the d it inherited.
        let refused = try Self.run("/bin/sh", ["-c", RemoteScript.inventory.body], environment: environment, input: Data("garbage\n".utf8))
        #expect(refused.status == 69, "\(refused.error)")
        #expect(FileManager.default.fileExists(atPath: victim.appendingPathComponent("precious").path))

        // The noexec fallback, with a move that fails: nothing of the run stays in TMPDIR or HOME.
        let failingMove = tools.appendingPathComponent("mv")
        try "#!/bin/sh\nexit 1\n".write(to: failingMove, atomically: true, encoding: .utf8)
        chmod(failingMove.path, 0o755)
        environment["PATH"] = tools.path + ":/usr/bin:/bin"
        let stuck = try Self.run("/bin/sh", ["-c", RemoteScript.inventory.body], environment: environment, input: Self.payload(bot: Self.fakeBot))
        #expect(stuck.status == 67, "\(stuck.error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path).isEmpty)

        // And the same fallback working: the file comes out, and nothing stays behind either.
        environment["PATH"] = "/usr/bin:/bin"
        let moved = try Self.run("/bin/sh", ["-c", RemoteScript.inventory.body], environment: environment, input: Self.payload(bot: Self.fakeBot))
        #expect(moved.status == 0, "\(moved.error)")
        #expect(moved.output == "encrypted\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path).isEmpty)
        #expect(FileManager.default.fileExists(atPath: victim.appendingPathComponent("precious").path))
    }

    // MARK: 5. a device cannot fill the console's disk or memory

    @Test("an answer streamed to disk stops at its bound: ssh is stopped and no more reaches the file")
    func streamedAnswerIsBounded() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A stand-in for ssh that answers 100 MB, as a hostile device would.
        let flood = directory.appendingPathComponent("ssh")
        try "#!/bin/sh\nexec head -c 100000000 /dev/zero\n".write(to: flood, atomically: true, encoding: .utf8)
        chmod(flood.path, 0o755)
        var settings = OpenSSHTransport.Settings()
        settings.sshPath = flood.path
        let answer = directory.appendingPathComponent("answer").path
        let result = await OpenSSHTransport(settings: settings).run(
            .collect, on: Device(host: "web01.acme.test"), input: .bytes([]), timeout: .seconds(60), output: .file(answer, maxBytes: 1 << 20))
        guard case .failed(.badOutput, let message) = result else {
            Issue.record("expected bad output, got \(result)")
            return
        }
        #expect(message.contains("more than 1 MiB"))
        let size = (try FileManager.default.attributesOfItem(atPath: answer)[.size] as? Int) ?? 0
        #expect(size <= 1 << 20)
    }

    /// A transport that answers a collect with the given framed bytes, and records removals.
    struct CannedTransport: RemoteTransport {
        let answer: [UInt8]
        let removals = RemovalLog()

        final class RemovalLog: Sendable {
            let lines = Mutex<[String]>([])
        }

        func run(_ script: RemoteScript, on device: Device, input: RemoteInput, timeout: Duration, output: RemoteOutput) async -> RemoteResult {
            switch (script.name, output) {
            case ("collect", .file(let path, _)):
                _ = FileManager.default.createFile(atPath: path, contents: Data(answer))
                return .completed(exitCode: 0, output: [], error: "")
            case ("remove-fetched", _):
                if case .bytes(let bytes) = input { removals.lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
                return .completed(exitCode: 0, output: Array("KEPT\n".utf8), error: "")
            default:
                return .failed(.unreachable, "not scripted")
            }
        }
    }

    @Test("past the spool's budget nothing more is kept, what was not kept stays on the device, and the status says why")
    func spoolBudget() async throws {
        let state = try ConsoleRulesTests.scratch()
        let tenant = ConsoleRulesTests.tenant.certificate
        let messages = try (0..<3).map { try MessageEncryptor.encrypt(Array("{\"n\":\($0)}".utf8), to: [tenant]) }
        var framed: [UInt8] = []
        for (index, message) in messages.enumerated() {
            framed += Array("FILE sample-\(index).pgp \(message.count)\n".utf8) + message
        }
        framed += Array("END yes\n".utf8)
        let transport = CannedTransport(answer: framed)
        var spool = Spool(state: state)
        spool.budgetBytes = messages[0].count + messages[1].count + 10
        let campaign = ConsumptionCampaign(
            fleet: Fleet(transport: transport, concurrency: 1, progress: ProgressReporter(label: "collect", enabled: false)), spool: spool,
            certificate: tenant, state: state)
        let device = Device(host: "web01.acme.test")
        try state.writeJSON(
            [
                ConsumptionCampaign.Run(
                    host: device.host, port: device.port, remoteDirectory: "/var/tmp/assay-sampler.abc", pid: 1, startedAt: Date(),
                    schedule: .init(days: 1))
            ], to: state.campaigns)
        // when
        let outcomes = try await campaign.collect([device], stopping: false)
        // then
        #expect(outcomes.count == 1)
        #expect(outcomes[0].status == .badOutput)
        #expect(outcomes[0].message.contains("budget"), "\(outcomes[0].message)")
        #expect(try spool.pending().count == 2)
        let removed = transport.removals.lines.withLock { $0 }.joined()
        #expect(removed.contains("sample-0.pgp") && removed.contains("sample-1.pgp") && !removed.contains("sample-2.pgp"))
        #expect(!removed.contains("FINISH"))
        // No scratch file of the answer is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.root.path).allSatisfy { !$0.hasPrefix(".collect-") })
    }

    @Test("an answer read back from disk is read one file at a time, with the same bounds")
    func framedFromFile() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("answer").path
        _ = FileManager.default.createFile(atPath: path, contents: Data("FILE a.pgp 3\nabcFILE b.pgp 2\nxyEND no\n".utf8))
        var names: [String] = []
        #expect(try FramedFiles.read(file: path) { names.append($0.name) } == false)
        #expect(names == ["a.pgp", "b.pgp"])
        _ = FileManager.default.createFile(atPath: path, contents: Data("FILE a.pgp 3\nabcFILE b.pgp 200\nxy".utf8))
        names = []
        #expect(throws: (any Error).self) { try FramedFiles.read(file: path) { names.append($0.name) } }
        #expect(names == ["a.pgp"])
    }

    @Test("refused files are kept 30 days, then removed")
    func rejectedAgeOut() throws {
        let state = try ConsoleRulesTests.scratch()
        let spool = Spool(state: state)
        let old = state.rejected.appendingPathComponent(String(repeating: "a", count: 64) + ".pgp")
        let oldReason = state.rejected.appendingPathComponent(String(repeating: "a", count: 64) + ".reason.txt")
        let recent = state.rejected.appendingPathComponent(String(repeating: "b", count: 64) + ".pgp")
        for file in [old, oldReason, recent] { _ = FileManager.default.createFile(atPath: file.path, contents: Data("x".utf8)) }
        let longAgo = Date().addingTimeInterval(-31 * 86_400)
        for file in [old, oldReason] { try FileManager.default.setAttributes([.modificationDate: longAgo], ofItemAtPath: file.path) }
        #expect(spool.pruneRejected() == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.rejected.path) == [recent.lastPathComponent])
    }
}
