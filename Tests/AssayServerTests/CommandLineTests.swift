import Foundation
import Testing

/// First contact with the command line: help and version work anywhere without side effects, and
/// `serve` on a catalog never migrated says what to do.
@Suite("assay-server on the command line")
struct CommandLineTests {
    struct Outcome {
        let status: Int32
        let output: String
    }

    /// Runs the real binary in a new empty directory; returns its exit status and combined output,
    /// and the names of the files it left there.
    static func run(_ arguments: [String]) throws -> (Outcome, [String]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        let output = Pipe()
        process.executableURL = repositoryRoot.appendingPathComponent(".build/debug/assay-server")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        for name in ["DATABASE_URL", "ASSAY_DATA_DIR", "ASSAY_CONFIG_FILE"] { environment.removeValue(forKey: name) }
        environment["ASSAY_PORT"] = "\(try freePort())"
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return (Outcome(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self)), left)
    }

    @Test("--help in an empty directory lists the commands and leaves no file behind", arguments: [["--help"], ["-h"], ["tenant", "create", "--help"]])
    func help(arguments: [String]) throws {
        let (outcome, left) = try Self.run(arguments)
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(!outcome.output.contains("no such table"))
        #expect(left.isEmpty, "help left \(left) behind")
        if arguments == ["--help"] {
            for command in ["serve", "migrate", "quickstart", "key", "tenant", "audit", "upload-token"] {
                #expect(outcome.output.contains(command), "help does not list \(command)")
            }
        }
    }

    @Test("version prints the version and the bot document schema, and touches nothing")
    func version() throws {
        let (outcome, left) = try Self.run(["version"])
        #expect(outcome.status == 0)
        #expect(outcome.output.hasPrefix("assay-server ") && outcome.output.contains("schema"))
        #expect(left.isEmpty)
    }

    @Test("key --help shows both halves of the one key tree")
    func keyHelp() throws {
        let (outcome, left) = try Self.run(["key", "--help"])
        #expect(outcome.status == 0)
        for subcommand in ["generate", "encrypt", "decrypt", "public", "rotate", "unlock"] {
            #expect(outcome.output.contains(subcommand), "key --help does not mention \(subcommand)")
        }
        #expect(left.isEmpty)
    }

    @Test("serve on a catalog never migrated refuses to start and says to run migrate")
    func serveNeedsMigrate() throws {
        let (outcome, _) = try Self.run(["serve"])
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("assay-server migrate"), "\(outcome.output)")
    }
}
