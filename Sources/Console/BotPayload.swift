import Foundation
import OpenPGP

/// What every device receives: a header line (`SIZE SHA256`), the tenant's armored public key, then
/// the bot. Written once per scan to a private file that the transport streams to each device.
public struct BotPayload: Sendable {
    public let file: URL
    public let botSHA256: String
    public let botBytes: Int

    /// The bot to copy: `--bot`, `ASSAY_BOT`, `assay-bot` beside this executable, or on PATH.
    public static func locateBot(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let fromEnvironment = environment["ASSAY_BOT"], !fromEnvironment.isEmpty { candidates.append(fromEnvironment) }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("assay-bot")
        candidates.append(beside.path)
        for directory in (environment["PATH"] ?? "").split(separator: ":") { candidates.append("\(directory)/assay-bot") }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return URL(fileURLWithPath: found) }
        if let explicit { throw ConsoleError.input("the bot \(explicit) is not an executable file") }
        throw ConsoleError.input("no assay-bot found (give --bot PATH or ASSAY_BOT, or put it beside assay)")
    }

    /// `leading` goes before the header: a step's own line (the consumption schedule).
    /// `timeLimit`: seconds a run may take on the device before the script stops it.
    public static func make(bot: URL, certificate: Certificate, in directory: URL, leading: String? = nil, timeLimit: Int = 300) throws -> BotPayload {
        let botData = try Data(contentsOf: bot)
        guard botData.count > 0, botData.count <= 256 << 20 else { throw ConsoleError.input("\(bot.path) is not a bot (\(botData.count) bytes)") }
        let digest = sha256Hex(botData)
        var payload = Data((leading.map { $0 + "\n" } ?? "").utf8)
        payload.append(Data("\(botData.count) \(digest) \(max(1, timeLimit))\n".utf8))
        var armored = certificate.armored
        if !armored.hasSuffix("\n") { armored += "\n" }
        payload.append(Data(armored.utf8))
        payload.append(botData)
        let file = directory.appendingPathComponent(".payload-\(UUID().uuidString)")
        // A scratch file for this scan only: private, but not worth an fsync of the whole bot.
        guard FileManager.default.createFile(atPath: file.path, contents: payload, attributes: [.posixPermissions: 0o600]) else {
            throw ConsoleError.state("cannot write \(file.path)")
        }
        return BotPayload(file: file, botSHA256: digest, botBytes: botData.count)
    }

    public func remove() { try? FileManager.default.removeItem(at: file) }
}
