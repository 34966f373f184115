import Foundation

/// What a long scan shows while it runs: on a terminal a bar with counts that redraws in place;
/// elsewhere (a log, a pipe) one line per device as it finishes. Always on standard error, so
/// that `--json` output on standard output stays clean.
public actor ProgressReporter {
    private let enabled: Bool
    private let isTerminal: Bool
    private var total = 0
    private var finished = 0
    private var running = 0
    private var counts: [DeviceStatus: Int] = [:]
    private let label: String

    public init(label: String, enabled: Bool = true) {
        self.label = label
        self.enabled = enabled
        self.isTerminal = isatty(2) == 1
    }

    func start(total: Int) {
        self.total = total
        draw()
    }

    func begin(_ host: String) {
        running += 1
        draw()
    }

    func finish(_ outcome: DeviceOutcome) {
        running -= 1
        finished += 1
        counts[outcome.status, default: 0] += 1
        guard enabled else { return }
        clearLine()
        let size = outcome.bytes > 0 ? " \(outcome.bytes) B" : ""
        let line =
            "\(outcome.host.padding(toLength: max(outcome.host.count, 28), withPad: " ", startingAt: 0)) \(outcome.status.rawValue)\(size) \(String(format: "%.1f s", outcome.seconds)) — \(outcome.message)"
        FileHandle.standardError.write(Data((line + "\n").utf8))
        draw()
    }

    func end() {
        guard enabled, isTerminal else { return }
        clearLine()
    }

    public func note(_ text: String) {
        guard enabled else { return }
        clearLine()
        FileHandle.standardError.write(Data((text + "\n").utf8))
        draw()
    }

    private func clearLine() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    private func draw() {
        guard enabled, isTerminal, total > 0 else { return }
        let width = 30
        let filled = total == 0 ? 0 : finished * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let summary = counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: " · ")
        FileHandle.standardError.write(
            Data("\r\u{1B}[2K\(label) [\(bar)] \(finished)/\(total) running \(running)\(summary.isEmpty ? "" : " · " + summary)".utf8))
    }
}
