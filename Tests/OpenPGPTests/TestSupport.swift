import Foundation
import Testing

@testable import OpenPGP

/// Keys are slow to make in a debug build: each size is generated once per test run.
enum TestKeys {
    static let rsa2048 = try! SecretKey.generate(userID: "Assay Test 2048 <keys@assay.test>", size: .bits2048)
    static let rsa3072 = try! SecretKey.generate(userID: "Assay Test 3072 <keys@assay.test>", size: .bits3072)
    static let rsa4096 = try! SecretKey.generate(userID: "Assay Test 4096 <keys@assay.test>", size: .bits4096)
    static let other2048 = try! SecretKey.generate(userID: "Someone Else <other@assay.test>", size: .bits2048)

    static func key(_ size: SecretKey.KeySize) -> SecretKey {
        switch size {
        case .bits2048: rsa2048
        case .bits3072: rsa3072
        case .bits4096: rsa4096
        }
    }
}

func deterministicBytes(_ count: Int, seed: UInt64 = 42) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

/// A JSON-like document that compresses the way real inventory does.
func inventoryLikeDocument(bytes: Int) -> [UInt8] {
    var out = Array("{\"schema\":1,\"software\":[".utf8)
    var index = 0
    while out.count < bytes {
        let entry =
            "{\"name\":\"package-\(index % 997)-lib\",\"version\":\"\(index % 13).\(index % 7).\(index % 101)-deb12u\(index % 3)\",\"arch\":\"amd64\",\"size\":\(index * 37 % 90_000)},"
        out.append(contentsOf: Array(entry.utf8))
        index += 1
    }
    out.append(contentsOf: Array("{}]}".utf8))
    return out
}

/// The real GnuPG from Debian in a throw-away home directory.
final class GnuPG {
    let home: URL

    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/gpg") }
    /// In CI (CI=true) the interoperability tests always run, so a missing gpg fails them loudly.
    static var isRequiredOrInstalled: Bool { isInstalled || ProcessInfo.processInfo.environment["CI"] != nil }

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("assay-gpg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "allow-loopback-pinentry\n".write(to: home.appendingPathComponent("gpg-agent.conf"), atomically: true, encoding: .utf8)
    }

    deinit {
        _ = try? run(["gpgconf", "--homedir", home.path, "--kill", "gpg-agent"], input: [], program: "/usr/bin/gpgconf")
        try? FileManager.default.removeItem(at: home)
    }

    struct Result {
        let status: Int32
        let stdout: [UInt8]
        let stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    @discardableResult
    func gpg(_ arguments: [String], input: [UInt8] = [], expectSuccess: Bool = true) throws -> Result {
        let result = try run(["--homedir", home.path, "--batch", "--no-tty", "--pinentry-mode", "loopback"] + arguments, input: input)
        if expectSuccess && result.status != 0 {
            throw GnuPGFailure(arguments: arguments, stderr: result.stderr)
        }
        return result
    }

    private func run(_ arguments: [String], input: [UInt8], program: String = "/usr/bin/gpg") throws -> Result {
        // Files, not pipes: large messages cannot deadlock, and nothing needs a second thread.
        let scratch = home.appendingPathComponent("io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inURL = scratch.appendingPathComponent("in")
        let outURL = scratch.appendingPathComponent("out")
        let errURL = scratch.appendingPathComponent("err")
        try Data(input).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = program == "/usr/bin/gpg" ? arguments : Array(arguments.dropFirst())
        process.standardInput = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: Array(try Data(contentsOf: outURL)),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        )
    }

    /// Colon-listing fields (doc/DETAILS in GnuPG) of the first record of `type` ("pub", "sec", "sub", "fpr").
    func colonRecords(_ type: String, secret: Bool = false) throws -> [[String]] {
        let listing = try gpg(["--with-colons", "--fixed-list-mode", secret ? "--list-secret-keys" : "--list-keys"]).text
        return listing.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
            .filter { $0.first == type }
    }
}

struct GnuPGFailure: Error, CustomStringConvertible {
    let arguments: [String]
    let stderr: String
    var description: String { "gpg \(arguments.joined(separator: " ")) failed: \(stderr)" }
}
