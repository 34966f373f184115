import Foundation
import Testing

/// Runs the real `assay-server key …` binary, with GnuPG on the other side.
@Suite("assay-server key (the command)", .enabled(if: GnuPG.isRequiredOrInstalled))
struct KeyCommandTests {
    @Test("generate → gpg imports the secret key with the passphrase → gpg and the command decrypt each other's messages")
    func commandAgainstGnuPG() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let passphraseFile = directory.appendingPathComponent("passphrase").path
        try "tenant key pass ✓\n".write(toFile: passphraseFile, atomically: true, encoding: .utf8)
        let secretPath = directory.appendingPathComponent("secret.asc").path
        let publicPath = directory.appendingPathComponent("public.asc").path

        let generated = try AssayServerBinary.run([
            "key", "generate", "--user-id", "Tenant T <keys@assay.invalid>", "--bits", "2048",
            "--secret-out", secretPath, "--public-out", publicPath, "--passphrase-file", passphraseFile,
        ])
        #expect(generated.status == 0, "\(generated.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: secretPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let gpg = try GnuPG()
        try gpg.gpg(["--passphrase", "tenant key pass ✓", "--import"], input: Array(try Data(contentsOf: URL(fileURLWithPath: secretPath))))
        let fingerprint = try #require(try gpg.colonRecords("fpr").first)[9]
        #expect(generated.stdout.contains(fingerprint))

        let plaintext = inventoryLikeDocument(bytes: 30_000)
        let fromGnuPG = try gpg.gpg(["--trust-model", "always", "--encrypt", "--recipient", fingerprint], input: plaintext).stdout
        let messagePath = directory.appendingPathComponent("from-gpg.pgp").path
        try Data(fromGnuPG).write(to: URL(fileURLWithPath: messagePath))
        let outPath = directory.appendingPathComponent("plain").path
        let decrypted = try AssayServerBinary.run([
            "key", "decrypt", "--secret-key", secretPath, "--passphrase-file", passphraseFile, "--in", messagePath, "--out", outPath,
        ])
        #expect(decrypted.status == 0, "\(decrypted.stderr)")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: outPath))) == plaintext)

        let plainPath = directory.appendingPathComponent("doc.json").path
        try Data(plaintext).write(to: URL(fileURLWithPath: plainPath))
        let encrypted = try AssayServerBinary.run(["key", "encrypt", "--recipient", publicPath, "--armor", "--in", plainPath])
        #expect(encrypted.status == 0)
        #expect(try gpg.gpg(["--passphrase", "tenant key pass ✓", "--decrypt"], input: Array(encrypted.stdout.utf8)).stdout == plaintext)
    }

    @Test("bad arguments and bad input give a message and a non-zero exit, and no output file")
    func errors() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let weak = try AssayServerBinary.run(["key", "generate", "--user-id", "x", "--bits", "1024", "--secret-out", "/dev/null", "--public-out", "/dev/null"])
        #expect(weak.status != 0)
        #expect(weak.stderr.contains("--bits must be 2048, 3072 or 4096, not 1024"))

        let secretPath = directory.appendingPathComponent("s.asc").path
        let publicPath = directory.appendingPathComponent("p.asc").path
        _ = try AssayServerBinary.run([
            "key", "generate", "--user-id", "x <x@assay.invalid>", "--bits", "2048", "--secret-out", secretPath, "--public-out", publicPath,
        ])
        let garbagePath = directory.appendingPathComponent("garbage").path
        try "not a message".write(toFile: garbagePath, atomically: true, encoding: .utf8)
        let outPath = directory.appendingPathComponent("out").path
        let failed = try AssayServerBinary.run(["key", "decrypt", "--secret-key", secretPath, "--in", garbagePath, "--out", outPath])
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("malformed OpenPGP data: byte 0 is not a packet header"))
        #expect(!FileManager.default.fileExists(atPath: outPath))
        let noCompression = try AssayServerBinary.run(["key", "encrypt", "--recipient", publicPath, "--compression", "bzip2", "--in", garbagePath])
        #expect(noCompression.stderr.contains("--compression must be zlib, zip or none, not bzip2"))
    }
}

enum AssayServerBinary {
    /// Built beside the test bundle by `swift build --build-tests` / `swift test`.
    static var path: String { Bundle.main.bundleURL.appendingPathComponent("assay-server").path }

    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String]) throws -> Output {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out")
        let errURL = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8)
        )
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("assay-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
