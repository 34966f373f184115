import Console
import Foundation

/// What `assay settings` keeps between runs (settings.json): how to reach devices and the service.
/// Command-line options override them for one run.
struct ConsoleSettings: Codable, Sendable {
    var ssh = OpenSSHTransport.Settings()
    var caFile: String?
    var concurrency = 32
    var botPath: String?
    /// The longest one call to the service may take, answer body included (default 120 s).
    var serviceDeadlineSeconds: Int?

    var serviceDeadline: Duration { .seconds(serviceDeadlineSeconds ?? 120) }
    /// What the spool may hold in all, in MiB (default 4096).
    var spoolBudgetMiB: Int?

    /// The spool with its budget.
    func spool(_ state: StateDirectory) -> Spool {
        var spool = Spool(state: state)
        if let spoolBudgetMiB { spool.budgetBytes = spoolBudgetMiB << 20 }
        return spool
    }

    /// The settings, or the defaults when settings.json cannot be read.
    static func loadOrDefault(_ state: StateDirectory) -> ConsoleSettings { (try? load(state)) ?? ConsoleSettings() }

    static func load(_ state: StateDirectory) throws -> ConsoleSettings {
        try state.readJSON(ConsoleSettings.self, from: state.settings) ?? ConsoleSettings()
    }

    func save(_ state: StateDirectory) throws {
        try state.writeJSON(self, to: state.settings)
    }
}
