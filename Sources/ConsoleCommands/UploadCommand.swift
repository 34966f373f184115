import ArgumentParser
import Console
import Foundation

struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload the spool (and FILEs given here: the air-gapped path) over HTTPS; each file leaves the spool only once acknowledged.",
        discussion: "Safe to interrupt and run again: a file the service already has is acknowledged again, never stored twice.")

    @Argument(help: "Encrypted files made by `assay-bot … --recipient` on a device the console cannot reach.")
    var files: [String] = []

    @Option(help: "Seconds to keep trying when the service asks to wait or cannot be reached (default 600).")
    var patience = 600

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            let installed = try InstalledBundle.load(state)
            let settings = try ConsoleSettings.load(state)
            let spool = settings.spool(state)
            for file in files {
                let metadata = try spool.addFile(URL(fileURLWithPath: file), recipient: installed.certificate)
                Console.say("\(file): checked (encrypted to the tenant's key), \(metadata.bytes) bytes, in the spool")
            }
            guard (1...86_400).contains(patience) else { throw ConsoleError.usage("--patience must be 1 to 86400 seconds") }
            let report = try await installed.withClient(settings) { client in
                var uploader = Uploader(spool: spool, signIns: installed.signIns(state), client: client)
                uploader.patience = .seconds(patience)
                return try await uploader.run(progress: { Console.say($0) })
            }
            if output.json {
                try Console.printJSON(report)
            } else {
                print("uploaded \(report.uploaded.count), refused \(report.rejected.count), waiting \(report.remaining)")
            }
            if report.remaining > 0 || !report.rejected.isEmpty { throw ExitCode(3) }
        }
    }
}

struct SettingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings", abstract: "Show or change how this console reaches devices and the service (settings.json).")

    @Option(help: "SSH private key for every device.")
    var identity: String?

    @Option(name: .customLong("known-hosts"), help: "known_hosts file to check host keys against.")
    var knownHosts: String?

    @Option(name: .customLong("ssh-config"), help: "ssh_config file.")
    var sshConfig: String?

    @Option(name: .customLong("ca-file"), help: "CA of the service's certificate.")
    var caFile: String?

    @Option(help: "Devices worked on at once.")
    var concurrency: Int?

    @Option(help: "The bot to copy.")
    var bot: String?

    @Option(help: "The OpenSSH client (absolute path; default /usr/bin/ssh). Never taken from PATH.")
    var ssh: String?

    @Option(name: .customLong("service-deadline"), help: "Seconds one call to the service may take, answer included (default 120).")
    var serviceDeadline: Int?

    @Option(name: .customLong("spool-budget"), help: "MiB the spool may hold before nothing more is fetched (default 4096).")
    var spoolBudget: Int?

    @OptionGroup var stateOptions: StateOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            var settings = try ConsoleSettings.load(state)
            func absolute(_ path: String) throws -> String {
                guard FileManager.default.isReadableFile(atPath: path) else { throw ConsoleError.input("cannot read \(path)") }
                return URL(fileURLWithPath: path).standardizedFileURL.path
            }
            var changed = false
            if let identity {
                settings.ssh.identityFile = try absolute(identity)
                changed = true
            }
            if let knownHosts {
                settings.ssh.knownHostsFile = try absolute(knownHosts)
                changed = true
            }
            if let sshConfig {
                settings.ssh.configFile = try absolute(sshConfig)
                changed = true
            }
            if let caFile {
                settings.caFile = try absolute(caFile)
                changed = true
            }
            if let bot {
                settings.botPath = try absolute(bot)
                changed = true
            }
            if let spoolBudget {
                guard (16...1_048_576).contains(spoolBudget) else { throw ConsoleError.usage("--spool-budget must be 16 to 1048576 MiB") }
                settings.spoolBudgetMiB = spoolBudget
                changed = true
            }
            if let serviceDeadline {
                guard (1...3600).contains(serviceDeadline) else { throw ConsoleError.usage("--service-deadline must be 1 to 3600 seconds") }
                settings.serviceDeadlineSeconds = serviceDeadline
                changed = true
            }
            if let ssh {
                settings.ssh.sshPath = try absolute(ssh)
                changed = true
            }
            if let concurrency {
                guard (1...1024).contains(concurrency) else { throw ConsoleError.usage("--concurrency must be 1 to 1024") }
                settings.concurrency = concurrency
                changed = true
            }
            if changed { try settings.save(state) }
            try Console.printJSON(settings)
        }
    }
}
