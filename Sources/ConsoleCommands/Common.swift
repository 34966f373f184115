import ArgumentParser
import Console
import Directory
import Foundation
import OpenPGP

/// `--state-dir`, on every command.
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: "The console's state directory (default $XDG_STATE_HOME/assay, or ASSAY_STATE_DIR).")
    var stateDirectory: String?

    func state() throws -> StateDirectory {
        let state = StateDirectory(root: stateDirectory.map { URL(fileURLWithPath: $0) } ?? StateDirectory.defaultRoot())
        try state.prepare()
        return state
    }
}

/// Where a secret comes from when it is not typed at the terminal: never the command line.
struct SecretOptions: ParsableArguments {
    @Option(name: .customLong("password-file"), help: "Read the password from this file's first line.")
    var passwordFile: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input's first line (and a code, when asked, from the next).")
    var passwordStandardInput = false

    func password(prompt: String) throws -> String {
        try Console.secret(prompt: prompt, file: passwordFile, fromStandardInput: passwordStandardInput)
    }
}

/// The bot a scan copies to devices.
struct BotOptions: ParsableArguments {
    @Option(help: "The bot to copy (default: settings, ASSAY_BOT, or assay-bot beside assay).")
    var bot: String?

    /// The bot and the tenant key as one payload file in the state directory (removed by the caller).
    func payload(_ state: StateDirectory, _ installed: InstalledBundle, leading: String? = nil, timeLimit: Duration = .seconds(300)) throws -> BotPayload {
        let file = try BotPayload.locateBot(explicit: bot ?? (try ConsoleSettings.load(state)).botPath)
        return try BotPayload.make(
            bot: file, certificate: installed.certificate, in: state.root, leading: leading, timeLimit: Int(timeLimit.components.seconds))
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON on standard output (progress still goes to standard error).")
    var json = false
}

/// The tenant bundle installed by `assay init`, read again and checked on each use.
struct InstalledBundle {
    let bundle: TenantBundle
    let certificate: Certificate

    var binding: ServiceBinding { ServiceBinding(bundle) }

    func signIns(_ state: StateDirectory) -> SignInStore {
        var store = SignInStore(state: state, binding: binding)
        // Another console process renewing holds token.lock for at most one bounded call.
        store.lockWait = ConsoleSettings.loadOrDefault(state).serviceDeadline + .seconds(15)
        return store
    }

    static func load(_ state: StateDirectory) throws -> InstalledBundle {
        guard FileManager.default.fileExists(atPath: state.bundle.path) else { throw ConsoleError.notInitialised }
        let (bundle, certificate) = try TenantBundle.read(try Data(contentsOf: state.bundle))
        return InstalledBundle(bundle: bundle, certificate: certificate)
    }

    /// A client for the bundle's service, shut down when `body` is done, whatever happens.
    func withClient<T>(_ settings: ConsoleSettings, _ body: (ServiceClient) async throws -> T) async throws -> T {
        let client = try ServiceClient(endpoint: try ServiceEndpoint(bundle.serviceURL), caFile: settings.caFile, deadline: settings.serviceDeadline)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

enum Console {
    /// Runs a command body; a ConsoleError becomes `assay: …` on standard error and its exit code.
    static func guarded(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ConsoleError {
            // An error may quote a device, a directory or the service: printed without control characters.
            FileHandle.standardError.write(Data("assay: \(TerminalText.clean(error.description, keepLineBreaks: true))\n".utf8))
            throw ExitCode(error.exitCode)
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch {
            FileHandle.standardError.write(Data("assay: \(TerminalText.clean("\(error)", keepLineBreaks: true))\n".utf8))
            throw ExitCode(70)
        }
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }

    static func say(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// A secret from a file's first line, standard input's first line, or the terminal without
    /// echo; never from the command line, where `ps` and shell history would show it.
    static func secret(prompt: String, file: String?, fromStandardInput: Bool) throws -> String {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ConsoleError.input("cannot read \(file)") }
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        if fromStandardInput {
            guard let line = readLine(strippingNewline: true) else { throw ConsoleError.input("standard input ended before the \(prompt.lowercased())") }
            return line
        }
        return try Terminal.readHidden(prompt: prompt + ": ")
    }
}

/// Reads from the controlling terminal with echo off (termios), restoring it whatever happens.
enum Terminal {
    static func readHidden(prompt: String) throws -> String {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else { throw ConsoleError.usage("no terminal to ask on: use --password-file or --password-stdin") }
        defer { close(tty) }
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        var saved = termios()
        let hasTermios = tcgetattr(tty, &saved) == 0
        if hasTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(tty, TCSAFLUSH, &quiet)
        }
        defer {
            if hasTermios { tcsetattr(tty, TCSAFLUSH, &saved) }
            _ = write(tty, "\n", 1)
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(tty, &byte, 1) == 1, byte != 0x0A, byte != 0x0D, bytes.count < 4096 { bytes.append(byte) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func readLineVisible(prompt: String) throws -> String {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else { throw ConsoleError.usage("no terminal to ask on") }
        defer { close(tty) }
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(tty, &byte, 1) == 1, byte != 0x0A, bytes.count < 1024 { bytes.append(byte) }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}
