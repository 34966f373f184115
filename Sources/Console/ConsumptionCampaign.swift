import Directory
import Foundation
import OpenPGP

/// A consumption scan (COL-2): the sampler runs detached on each device for up to 90 days;
/// `collect` fetches the finished files, `stop` ends it early, and once a device's sampler has
/// ended and its files are in the spool, its directory and the bot are removed (COL-6).
public struct ConsumptionCampaign: Sendable {
    public struct Schedule: Sendable, Codable, Equatable {
        public var interval: String = "1m"
        public var bucket: String = "5m"
        public var duration: String
        public var fileEvery: String = "1h"

        public init(days: Int) { duration = "\(days)d" }

        public init(interval: String, bucket: String, duration: String, fileEvery: String) {
            self.interval = interval
            self.bucket = bucket
            self.duration = duration
            self.fileEvery = fileEvery
        }

        /// How long the sampler runs, in seconds.
        public var seconds: TimeInterval {
            guard let unit = duration.last, let value = Double(duration.dropLast()) else { return 0 }
            return value * (unit == "d" ? 86_400 : unit == "h" ? 3_600 : unit == "m" ? 60 : 1)
        }

        /// Each value a number and a unit (s, m, h, d): what the remote script accepts.
        public func validate() throws {
            for value in [interval, bucket, duration, fileEvery] {
                guard let unit = value.last, "smhd".contains(unit), value.dropLast().allSatisfy(\.isNumber), value.count >= 2, value.count <= 8 else {
                    throw ConsoleError.usage("\"\(value.prefix(20))\" is not a duration such as 30s, 5m, 1h or 7d")
                }
            }
        }
    }

    /// One device's sampler, as the console remembers it.
    public struct Run: Codable, Sendable, Equatable {
        public let host: String
        public let port: Int
        public let remoteDirectory: String
        public let pid: Int
        public let startedAt: Date
        public let schedule: Schedule
        public var lastCollectedAt: Date?
        public var filesCollected: Int = 0
        /// `sampling`, or `finished` once the directory is removed.
        public var state: String = "sampling"
    }

    /// One collect's answer, per device: a little over the bot's own --max-spool (50 MB).
    public static let maxAnswerBytes = 64 << 20

    public let fleet: Fleet
    public let spool: Spool
    public let certificate: Certificate
    public let state: StateDirectory
    public var timeout: Duration = .seconds(120)

    public init(fleet: Fleet, spool: Spool, certificate: Certificate, state: StateDirectory) {
        self.fleet = fleet
        self.spool = spool
        self.certificate = certificate
        self.state = state
    }

    public func runs() throws -> [Run] { try Self.runs(in: state) }

    /// The campaigns this console started, without a fleet to run them (status pages).
    public static func runs(in state: StateDirectory) throws -> [Run] { try state.readJSON([Run].self, from: state.campaigns) ?? [] }

    private let lock = CampaignLock()

    private func update(_ change: @Sendable (inout [Run]) -> Void) async throws {
        try await lock.withLock {
            let file = try FileLock(state.root.appendingPathComponent("campaigns.lock").path)
            defer { file.release() }
            var all = try runs()
            change(&all)
            try state.writeJSON(all, to: state.campaigns)
        }
    }

    // MARK: start

    /// The line the start script reads before the bot: `INTERVAL BUCKET DURATION FILE_EVERY`.
    public static func scheduleLine(_ schedule: Schedule) -> String {
        "\(schedule.interval) \(schedule.bucket) \(schedule.duration) \(schedule.fileEvery)"
    }

    /// Starts the sampler on each device; `payload` was made with `scheduleLine` leading.
    public func start(_ devices: [Device], schedule: Schedule, payload: BotPayload) async throws -> [DeviceOutcome] {
        try schedule.validate()
        let active = Set(try runs().filter { $0.state == "sampling" }.map { "\($0.host):\($0.port)" })
        return await fleet.each(devices) { device in
            if active.contains("\(device.host):\(device.port)") {
                return DeviceOutcome(device, .alreadySampling, "a consumption scan runs already: `assay scan stop` first")
            }
            return await startOne(device, input: .file(payload.file.path), schedule: schedule)
        }
    }

    private func startOne(_ device: Device, input: RemoteInput, schedule: Schedule) async -> DeviceOutcome {
        let result = await fleet.transport.run(.startSampler, on: device, input: input, timeout: timeout, maxOutputBytes: 4096)
        switch result {
        case .failed(let status, let message): return DeviceOutcome(device, status, message)
        case .completed(let code, let output, let error):
            guard code == 0 else { return DeviceOutcome(scriptExit: code, error: error, device) }
            let words = String(decoding: output, as: UTF8.self).split(whereSeparator: \.isWhitespace).map(String.init)
            guard words.count == 3, words[0] == "STARTED", Self.isCampaignDirectory(words[1]), let pid = Int(words[2]) else {
                return DeviceOutcome(device, .badOutput, "the device did not confirm the start")
            }
            let run = Run(host: device.host, port: device.port, remoteDirectory: words[1], pid: pid, startedAt: Date(), schedule: schedule)
            do {
                try await update { runs in
                    runs.removeAll { $0.host == run.host && $0.port == run.port && $0.state != "sampling" }
                    runs.append(run)
                }
            } catch {
                return DeviceOutcome(device, .botFailed, "started, but the console could not record it: \(error)")
            }
            return DeviceOutcome(device, .sampling, "sampling every \(schedule.interval) for \(schedule.duration)")
        }
    }

    /// What a device may name as a campaign directory (the remote script checks it again).
    static func isCampaignDirectory(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.contains("..") && path.contains("/assay-sampler.") && path.count <= 200
            && path.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._-".contains($0)) }
    }

    // MARK: collect and stop

    /// Fetches finished files from every sampling device (`stop`: ends the sampler first). A
    /// device whose sampler has ended is then cleaned: directory and bot removed.
    public func collect(_ devices: [Device], stopping: Bool) async throws -> [DeviceOutcome] {
        let runs = try runs().filter { $0.state == "sampling" }
        let byKey = Dictionary(runs.map { ("\($0.host):\($0.port)", $0) }, uniquingKeysWith: { $1 })
        let targets = devices.filter { byKey["\($0.host):\($0.port)"] != nil }
        return await fleet.each(targets) { device in
            await collectOne(device, run: byKey["\(device.host):\(device.port)"]!, stopping: stopping)
        }
    }

    private func collectOne(_ device: Device, run: Run, stopping: Bool) async -> DeviceOutcome {
        func outcome(_ status: DeviceStatus, _ message: String) -> DeviceOutcome { DeviceOutcome(device, status, message) }
        let directoryLine = Array((run.remoteDirectory + "\n").utf8)
        // The answer goes to a private file as it arrives and is read back one file at a time.
        let answer = state.root.appendingPathComponent(".collect-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: answer) }
        let result = await fleet.transport.run(
            stopping ? .stopSampler : .collect, on: device, input: .bytes(directoryLine), timeout: timeout,
            output: .file(answer, maxBytes: Self.maxAnswerBytes))
        switch result {
        case .failed(let status, let message): return outcome(status, message)
        case .completed(let code, _, let error):
            if code == 71 {
                try? await markFinished(run)
                return outcome(.notRunning, "the campaign's directory is gone from the device (removed by hand, or a reboot cleaned it)")
            }
            guard code == 0 else { return DeviceOutcome(scriptExit: code, error: error, device) }
        }
        // Keep each good file durably before anything is removed from the device.
        var kept: [String] = []
        var refused: [String] = []
        var bytes = 0
        let stillRunning: Bool
        do {
            stillRunning = try FramedFiles.read(file: answer) { file in
                do {
                    try Spool.check(file.bytes, recipient: certificate)
                    try spool.add(file.bytes, device: device.host, kind: "consumption")
                    kept.append(file.name)
                    bytes += file.bytes.count
                } catch {
                    refused.append("\(file.name): \(error)")
                }
            }
        } catch {
            // What was kept before the fault is removed from the device below; the rest stays there.
            guard !kept.isEmpty else { return outcome(.badOutput, "\(error)") }
            refused.append("\(error)")
            stillRunning = true
        }
        let finishing = !stillRunning && refused.isEmpty
        var removal = kept.map { $0 + "\n" }.joined()
        if finishing { removal += "FINISH\n" }
        if !removal.isEmpty {
            let removed = await fleet.transport.run(
                .removeFetched, on: device, input: .bytes(directoryLine + Array(removal.utf8)), timeout: timeout, maxOutputBytes: 4096)
            if case .failed(let status, let message) = removed { return outcome(status, "fetched \(kept.count) file(s) but could not remove them: \(message)") }
        }
        let keptCount = kept.count
        do {
            try await update { runs in
                guard let index = runs.firstIndex(where: { $0.host == run.host && $0.port == run.port && $0.state == "sampling" }) else { return }
                runs[index].lastCollectedAt = Date()
                runs[index].filesCollected += keptCount
                if finishing { runs[index].state = "finished" }
            }
        } catch {
            return outcome(.botFailed, "fetched, but the console could not record it: \(error)")
        }
        var done: DeviceOutcome
        if !refused.isEmpty {
            done = outcome(.badOutput, "kept \(kept.count) file(s); refused \(refused.count): \(refused[0].prefix(200)) (left on the device)")
        } else if finishing {
            let early = !stopping && Date() < run.startedAt.addingTimeInterval(run.schedule.seconds - 120)
            done = outcome(
                .done,
                "\(kept.count) file(s) fetched; the sampler has ended\(early ? " before its end (was the device restarted?)" : ""), bot and directory removed")
        } else {
            done = outcome(.sampling, "\(kept.count) file(s) fetched; still sampling")
        }
        done.files = kept.count
        done.bytes = bytes
        return done
    }

    private func markFinished(_ run: Run) async throws {
        try await update { runs in
            if let index = runs.firstIndex(where: { $0 == run }) { runs[index].state = "finished" }
        }
    }
}

/// Serialises the read-modify-write of campaigns.json among the tasks of one console process (the
/// file lock inside it does the same among processes).
actor CampaignLock {
    func withLock<T: Sendable>(_ body: @Sendable () throws -> T) throws -> T { try body() }
}
