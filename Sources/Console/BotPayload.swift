import Foundation
import OpenPGP

/// What every device receives: a header line (`SIZE SHA256 LIMIT`, of the bot as it will run), the
/// tenant's armored public key, then the bot gzip-compressed (18 MiB travel as about 7): the device
/// unpacks it with `gzip -dc`, bounded by SIZE, and checks size and SHA-256 before running it.
/// Written once per scan to a private file that the transport streams to each device.
public struct BotPayload: Sendable {
    public let file: URL
    public let botSHA256: String
    public let botBytes: Int

    /// The bot to copy: `--bot` (made absolute), `ASSAY_BOT` (absolute), or `assay-bot` beside this
    /// executable — never one found on PATH. Whichever it is must pass `TrustedExecutable`, and
    /// the one shipped beside the console must be the build it was pinned to (`PinnedBot`).
    public static func locateBot(
        explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        besideDirectory: URL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent(),
        pinnedSHA256: String? = PinnedBot.sha256
    ) throws -> URL {
        if let explicit {
            let absolute = URL(fileURLWithPath: explicit).standardizedFileURL.path
            return try TrustedExecutable.check(absolute, what: "the bot")
        }
        if let fromEnvironment = environment["ASSAY_BOT"], !fromEnvironment.isEmpty {
            return try TrustedExecutable.check(fromEnvironment, what: "the bot named by ASSAY_BOT")
        }
        let beside = besideDirectory.appendingPathComponent("assay-bot")
        guard FileManager.default.fileExists(atPath: beside.path) else {
            throw ConsoleError.input("no assay-bot beside assay in \(besideDirectory.path) (give --bot PATH or ASSAY_BOT)")
        }
        let bot = try TrustedExecutable.check(beside.path, what: "the bot")
        if let pinnedSHA256 {
            let digest = sha256Hex(try Data(contentsOf: bot))
            guard digest == pinnedSHA256 else {
                throw ConsoleError.refused(
                    "\(bot.path) is not the bot this console was built with (SHA-256 \(digest.prefix(16))…, expected \(pinnedSHA256.prefix(16))…): refused")
            }
        }
        return bot
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
        payload.append(contentsOf: try Gzip.compress(Array(botData)))
        let file = directory.appendingPathComponent(".payload-\(UUID().uuidString)")
        // A scratch file for this scan only: private, but not worth an fsync of the whole bot.
        guard FileManager.default.createFile(atPath: file.path, contents: payload, attributes: [.posixPermissions: 0o600]) else {
            throw ConsoleError.state("cannot write \(file.path)")
        }
        return BotPayload(file: file, botSHA256: digest, botBytes: botData.count)
    }

    public func remove() { try? FileManager.default.removeItem(at: file) }
}
