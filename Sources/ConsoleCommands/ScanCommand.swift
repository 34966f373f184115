import ArgumentParser
import Console
import Directory
import Foundation

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Run the bot on listed devices over SSH (CON-2): inventory, or a consumption scan of up to 90 days.",
        subcommands: [InventoryCommand.self, ConsumptionCommand.self, CollectCommand.self, StopCommand.self, ScanStatusCommand.self])
}

/// Which devices and how to reach them: shared by every scan command.
struct ReachOptions: ParsableArguments {
    @Option(name: .customLong("devices"), help: "Only these listed hosts (comma-separated).")
    var hosts: String?

    @Option(name: .customLong("label"), help: "Only listed devices with this label (repeatable: all of them).")
    var labels: [String] = []

    @Flag(name: .customLong("not-done"), help: "Only devices whose last scan did not end done (to retry the rest).")
    var notDone = false

    @Option(help: "Devices worked on at once (default 32, or settings).")
    var concurrency: Int?

    @Option(help: "Seconds one device may take (default 300 for inventory, 120 for the other steps).")
    var timeout: Int?

    @Option(help: "SSH private key (default: ssh's own choice, or the agent).")
    var identity: String?

    @Option(name: .customLong("known-hosts"), help: "known_hosts file to check host keys against (default ~/.ssh/known_hosts).")
    var knownHosts: String?

    @Option(name: .customLong("ssh-config"), help: "ssh_config file (ProxyJump, per-host users and keys).")
    var sshConfig: String?

    @Flag(name: .customLong("quiet"), help: "No progress on standard error.")
    var quiet = false

    func devices(_ state: StateDirectory) throws -> [Device] {
        let names = (hosts ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try DeviceStore(state: state).select(hosts: names, labels: labels, notDone: notDone)
    }

    func fleet(_ state: StateDirectory, label: String) throws -> Fleet {
        let settings = try ConsoleSettings.load(state)
        var ssh = settings.ssh
        if let identity { ssh.identityFile = identity }
        if let knownHosts { ssh.knownHostsFile = knownHosts }
        if let sshConfig { ssh.configFile = sshConfig }
        let limit = concurrency ?? settings.concurrency
        guard (1...1024).contains(limit) else { throw ConsoleError.usage("--concurrency must be 1 to 1024") }
        return Fleet(transport: OpenSSHTransport(settings: ssh), concurrency: limit, progress: ProgressReporter(label: label, enabled: !quiet))
    }

    func timeout(default seconds: Int) throws -> Duration {
        let value = timeout ?? seconds
        guard (1...86_400).contains(value) else { throw ConsoleError.usage("--timeout must be 1 to 86400 seconds") }
        return .seconds(value)
    }
}

/// Uploads what a scan fetched, if someone is signed in; otherwise says how.
struct AfterScan {
    static func upload(_ state: StateDirectory, skip: Bool) async throws -> Uploader.Report? {
        guard !skip else { return nil }
        let installed = try InstalledBundle.load(state)
        guard (try? installed.signIns(state).load()) ?? nil != nil else {
            Console.say("Nobody is signed in: the files wait in the spool. `assay login`, then `assay upload`.")
            return nil
        }
        let settings = try ConsoleSettings.load(state)
        return try await installed.withClient(settings) { client in
            var uploader = Uploader(spool: settings.spool(state), signIns: installed.signIns(state), client: client)
            uploader.patience = .seconds(120)
            do {
                return try await uploader.run(progress: { Console.say($0) })
            } catch let error as ConsoleError {
                Console.say("The upload did not finish (\(error.description)); the files wait in the spool for `assay upload`.")
                return nil
            }
        }
    }

    struct Result: Encodable {
        let devices: [DeviceOutcome]
        let upload: Uploader.Report?
    }

    /// Prints the outcome and ends with 0 when every device is done (or sampling), 3 otherwise.
    static func finish(_ outcomes: [DeviceOutcome], upload: Uploader.Report?, json: Bool, good: Set<DeviceStatus>) throws {
        if json {
            try Console.printJSON(Result(devices: outcomes, upload: upload))
        } else {
            var counts: [DeviceStatus: Int] = [:]
            for outcome in outcomes { counts[outcome.status, default: 0] += 1 }
            print(counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }.joined(separator: ", "))
            if let upload { print("uploaded \(upload.uploaded.count), refused \(upload.rejected.count), waiting \(upload.remaining)") }
        }
        if outcomes.contains(where: { !good.contains($0.status) }) { throw ExitCode(3) }
    }
}

struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Inventory listed devices: copy the bot, verify it, run it at low priority, fetch the encrypted file, remove the bot.")

    @OptionGroup var reach: ReachOptions

    @OptionGroup var botOptions: BotOptions

    @Flag(name: .customLong("no-upload"), help: "Keep the files in the spool; upload later with `assay upload`.")
    var noUpload = false

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            let installed = try InstalledBundle.load(state)
            let devices = try reach.devices(state)
            let timeout = try reach.timeout(default: 300)
            // The bot stops itself a little before the console would give up on the connection.
            let payload = try botOptions.payload(state, installed, timeLimit: timeout > .seconds(15) ? timeout - .seconds(10) : timeout)
            defer { payload.remove() }
            var scan = InventoryScan(
                fleet: try reach.fleet(state, label: "inventory"), payload: payload, certificate: installed.certificate,
                spool: ConsoleSettings.loadOrDefault(state).spool(state))
            scan.timeout = timeout
            let outcomes = await scan.run(devices)
            try DeviceStore(state: state).record(outcomes, step: "inventory")
            let upload = try await AfterScan.upload(state, skip: noUpload)
            try AfterScan.finish(outcomes, upload: upload, json: output.json, good: [.done])
        }
    }
}

struct ConsumptionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumption",
        abstract: "Start a consumption scan (COL-2): the sampler runs detached on each device for N days (at most 90).",
        discussion: "Fetch finished files with `assay scan collect` (by hand or from a systemd timer: docs/console.md); `assay scan stop` ends it early.")

    @Option(help: "Days to sample (1 to 90).")
    var days: Int?

    @Option(help: "Sampling interval (default 1m).")
    var interval = "1m"

    @Option(help: "Aggregation bucket (default 5m).")
    var bucket = "5m"

    @Option(name: .customLong("file-every"), help: "A file per period (default 1h).")
    var fileEvery = "1h"

    @Option(help: "Instead of --days, a duration such as 30m (for trials).")
    var duration: String?

    @OptionGroup var reach: ReachOptions

    @OptionGroup var botOptions: BotOptions

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            let installed = try InstalledBundle.load(state)
            let span: String
            switch (days, duration) {
            case (let days?, nil):
                guard (1...90).contains(days) else { throw ConsoleError.usage("--days must be 1 to 90 (COL-2)") }
                span = "\(days)d"
            case (nil, let duration?): span = duration
            default: throw ConsoleError.usage("give --days N (or --duration for a trial), not both")
            }
            let schedule = ConsumptionCampaign.Schedule(interval: interval, bucket: bucket, duration: span, fileEvery: fileEvery)
            try schedule.validate()
            let devices = try reach.devices(state)
            let payload = try botOptions.payload(state, installed, leading: ConsumptionCampaign.scheduleLine(schedule))
            defer { payload.remove() }
            var campaign = ConsumptionCampaign(
                fleet: try reach.fleet(state, label: "start"), spool: ConsoleSettings.loadOrDefault(state).spool(state),
                certificate: installed.certificate, state: state)
            campaign.timeout = try reach.timeout(default: 120)
            let outcomes = try await campaign.start(devices, schedule: schedule, payload: payload)
            try DeviceStore(state: state).record(outcomes, step: "consumption")
            try AfterScan.finish(outcomes, upload: nil, json: output.json, good: [.sampling])
        }
    }
}

struct CollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Fetch the finished files of running consumption scans and upload them; a device whose scan has ended is cleaned.")

    @OptionGroup var collecting: CollectOptions

    func run() async throws {
        try await Console.guarded { try await collecting.run(stopping: false) }
    }
}

/// What `collect` and `stop` share: they differ only in ending the sampler first.
struct CollectOptions: ParsableArguments {
    @OptionGroup var reach: ReachOptions

    @Flag(name: .customLong("no-upload"), help: "Keep the files in the spool.")
    var noUpload = false

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run(stopping: Bool) async throws {
        let state = try stateOptions.state()
        let json = output.json
        let installed = try InstalledBundle.load(state)
        var campaign = ConsumptionCampaign(
            fleet: try reach.fleet(state, label: stopping ? "stop" : "collect"), spool: ConsoleSettings.loadOrDefault(state).spool(state),
            certificate: installed.certificate, state: state)
        campaign.timeout = try reach.timeout(default: 120)
        let outcomes = try await campaign.collect(try reach.devices(state), stopping: stopping)
        try DeviceStore(state: state).record(outcomes, step: stopping ? "stop" : "collect")
        if outcomes.isEmpty { Console.say("No consumption scan is running on these devices.") }
        let upload = try await AfterScan.upload(state, skip: noUpload)
        try AfterScan.finish(outcomes, upload: upload, json: json, good: stopping ? [.done] : [.done, .sampling])
    }
}

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "End consumption scans: the sampler writes its last period, the files are fetched, the bot is removed.")

    @OptionGroup var collecting: CollectOptions

    func run() async throws {
        try await Console.guarded { try await collecting.run(stopping: true) }
    }
}

struct ScanStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Consumption scans this console started, and what they have brought.")

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            let runs = try ConsumptionCampaign.runs(in: state)
            if output.json { return try Console.printJSON(runs) }
            guard !runs.isEmpty else { return print("No consumption scan was started from this console.") }
            for run in runs {
                let ends = run.startedAt.addingTimeInterval(run.schedule.seconds)
                let collected = run.lastCollectedAt.map { "last collected \($0.formatted(.iso8601))" } ?? "not collected yet"
                print(
                    "\(run.host):\(run.port)  \(run.state)  started \(run.startedAt.formatted(.iso8601)), ends \(ends.formatted(.iso8601)); \(run.filesCollected) file(s), \(collected)"
                )
            }
        }
    }

}
