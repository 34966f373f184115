import Console
import Foundation

/// What `assay settings` keeps between runs (settings.json): how to reach devices and the service.
/// Command-line options override them for one run.
struct ConsoleSettings: Codable, Sendable {
    var ssh = OpenSSHTransport.Settings()
    var caFile: String?
    var concurrency = 32
    var botPath: String?

    static func load(_ state: StateDirectory) throws -> ConsoleSettings {
        guard FileManager.default.fileExists(atPath: state.settings.path) else { return ConsoleSettings() }
        do { return try JSONDecoder().decode(ConsoleSettings.self, from: Data(contentsOf: state.settings)) } catch {
            throw ConsoleError.state("\(state.settings.path) cannot be read; fix or remove it")
        }
    }

    func save(_ state: StateDirectory) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try StateDirectory.writeAtomically(try encoder.encode(self), to: state.settings)
    }
}
