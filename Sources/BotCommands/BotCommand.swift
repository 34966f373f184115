import ArgumentParser
import AssayModel
import CAssaySystem
import FoundationEssentials
import OpenPGP
import Probes

#if canImport(Glibc)
    import Glibc
#endif

/// `assay-bot`: collects on the machine it runs on; with a recipient key, writes only OpenPGP.
public struct BotCommand: ParsableCommand {
    public static let version = "0.1.0"
    public static let configuration = CommandConfiguration(
        commandName: "assay-bot",
        abstract: "Collect inventory, resource consumption and connections on this machine (see `assay-bot datapoints`).",
        version: version,
        subcommands: [Inventory.self, Sample.self, Connections.self, DataPointsCommand.self, Version.self]
    )

    public init() {}
}

// MARK: - inventory

struct OutputOptions: ParsableArguments {
    @Option(help: "Encrypt to this OpenPGP public key (armored or binary). Without it, JSON is printed: the dry run.")
    var recipient: String?

    @Option(help: "Write here instead of standard output (only the encrypted form is ever written to a file).")
    var out: String?

    func validate() throws {
        if out != nil && recipient == nil {
            throw ValidationError("--out needs --recipient: the bot never writes plaintext to a file")
        }
    }
}

struct Inventory: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Scan installed software and system configuration once.")

    @OptionGroup var output: OutputOptions

    func run() throws {
        let certificate = try output.recipient.map(BotIO.loadRecipient)
        let document = InventoryScanner(botVersion: BotCommand.version).scan(now: Int64(time(nil)))
        try BotIO.deliver(document, recipient: certificate, out: output.out)
    }
}

// MARK: - connections

struct Connections: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Take one snapshot of TCP connections.")

    @OptionGroup var output: OutputOptions

    func run() throws {
        let certificate = try output.recipient.map(BotIO.loadRecipient)
        let collector = ConnectionCollector()
        let now = Int64(time(nil))
        collector.snapshot(now: now)
        let document = ConnectionsDocument(
            header: BotIO.header(.connections, now: now), snapshots: collector.snapshots,
            connections: collector.connections, warnings: collector.warnings.warnings)
        try BotIO.deliver(document, recipient: certificate, out: output.out)
    }
}

// MARK: - sample

/// Set from the SIGTERM/SIGINT handler; read by the sampling loop.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample resource consumption and connections for a period, writing one encrypted file per period.",
        discussion: "Runs at the lowest CPU priority and in the idle I/O class. SIGTERM or SIGINT writes the current period and exits 0."
    )

    @Option(help: "OpenPGP public key to encrypt to.")
    var recipient: String

    @Option(name: .customLong("out-dir"), help: "Directory for the encrypted files.")
    var outDirectory: String

    @Option(help: "Sampling interval, e.g. 20s, 1m.", transform: Duration.parse)
    var interval: Int = 20

    @Option(help: "Aggregation bucket, e.g. 5m.", transform: Duration.parse)
    var bucket: Int = 300

    @Option(help: "How long to sample, at most 90d.", transform: Duration.parse)
    var duration: Int = 86_400

    @Option(name: .customLong("file-every"), help: "Write a file every period, e.g. 1h.", transform: Duration.parse)
    var fileEvery: Int = 3600

    @Option(name: .customLong("connections-every"), help: "Connection snapshot interval.", transform: Duration.parse)
    var connectionsEvery: Int = 300

    @Option(name: .customLong("max-spool"), help: "Stop when the out dir would exceed this size, e.g. 50MB.", transform: ByteSize.parse)
    var maxSpool: Int = 50 * 1_000_000

    var configuration: SamplerConfiguration {
        var configuration = SamplerConfiguration()
        configuration.sampleSeconds = interval
        configuration.bucketSeconds = bucket
        configuration.durationSeconds = duration
        configuration.fileEverySeconds = fileEvery
        configuration.connectionEverySeconds = connectionsEvery
        return configuration
    }

    func validate() throws {
        do { try configuration.validate() } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        let certificate = try BotIO.loadRecipient(recipient)
        var info = stat()
        guard stat(outDirectory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw ValidationError("--out-dir \(outDirectory) is not a directory")
        }
        // Yield to the workload being measured (COL-6).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        _ = assay_set_idle_io_priority()
        signal(SIGTERM) { _ in stopRequested = 1 }
        signal(SIGINT) { _ in stopRequested = 1 }
        // A blocked mask survives exec: a parent that blocked SIGTERM must not make us unstoppable.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)

        let sampler = Sampler(configuration: configuration, header: BotIO.header(.consumption, now: Int64(time(nil))))
        try sampler.run(shouldStop: { stopRequested != 0 }) { document in
            let name = "consumption-\(document.header.device.id.prefix(8))-\(document.bucketStarts.first ?? document.header.collectedAt).pgp"
            try BotIO.writeSpoolFile(document, recipient: certificate, directory: outDirectory, name: name, maxSpool: maxSpool)
        }
    }
}

// MARK: - datapoints, version

struct DataPointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "datapoints", abstract: "List every data point the bot collects (COL-5).")

    @Flag(help: "Print the Markdown page (docs/data-points.md).")
    var markdown = false

    func run() {
        if markdown {
            print(DataPoints.markdown(), terminator: "")
            return
        }
        for point in DataPoints.all {
            print("\(point.document.rawValue)\t\(point.name)\t\(point.unit)\t\(point.source)")
        }
        print("\nNever collected:")
        for item in DataPoints.neverCollected { print("- \(item)") }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the bot and schema versions.")
    func run() { print("assay-bot \(BotCommand.version) (schema \(Schema.version))") }
}
