import ArgumentParser
import Foundation
import OpenPGP

/// `assay-server key …`: by hand, what the service does with tenant keys.
public struct KeyCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Generate, inspect and use OpenPGP keys (RFC 4880/9580, readable by GnuPG).",
        discussion: """
            These subcommands work on key files. The tenant keys in the service's catalog are the same \
            tree's other half: key public|rotate|unlock|rotate-kek --tenant GUID (see `key public --help`).
            """,
        subcommands: [Generate.self, Export.self, Inspect.self, Encrypt.self, Decrypt.self]
    )

    public init() {}
}

/// Where a passphrase comes from: never a command-line argument, which `ps` would show.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: "Read the passphrase from the first line of this file.")
    var file: String?

    @Flag(name: .customLong("passphrase-env"), help: "Read the passphrase from ASSAY_KEY_PASSPHRASE.")
    var fromEnvironment = false

    func passphrase() throws -> String? {
        if let file {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.isEmpty else { throw ValidationError("the passphrase file \(file) is empty") }
            return line
        }
        if fromEnvironment {
            guard let value = ProcessInfo.processInfo.environment["ASSAY_KEY_PASSPHRASE"], !value.isEmpty else {
                throw ValidationError("ASSAY_KEY_PASSPHRASE is not set")
            }
            return value
        }
        return nil
    }
}

extension KeyCommand {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate an RSA key pair with an encryption subkey.")

        @Option(name: .customLong("user-id"), help: "The user ID, e.g. \"Tenant 5f0c… <keys@assay.invalid>\".")
        var userID: String

        @Option(help: "RSA modulus size: 2048, 3072 or 4096.")
        var bits: Int = 3072

        @Option(name: .customLong("secret-out"), help: "Write the armored secret key here (mode 0600).")
        var secretOut: String

        @Option(name: .customLong("public-out"), help: "Write the armored public key here.")
        var publicOut: String

        @OptionGroup var passphrase: PassphraseOptions

        func run() throws {
            guard let size = SecretKey.KeySize(rawValue: bits) else {
                throw ValidationError("--bits must be 2048, 3072 or 4096, not \(bits)")
            }
            let key = try SecretKey.generate(userID: userID, size: size)
            try writeFile(secretOut, Array(try key.armored(passphrase: try passphrase.passphrase()).utf8), mode: 0o600)
            try writeFile(publicOut, Array(key.certificate.armored.utf8), mode: 0o644)
            print("fingerprint \(key.fingerprint)")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the armored public key of a secret key.")

        @Option(name: .customLong("secret-key"), help: "An armored or binary secret key.")
        var secretKey: String

        @OptionGroup var passphrase: PassphraseOptions

        func run() throws {
            let key = try SecretKey(importing: try readFile(secretKey), passphrase: try passphrase.passphrase())
            print(key.certificate.armored, terminator: "")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show fingerprint, key IDs, sizes and user IDs of a key.")

        @Argument(help: "An armored or binary public or secret key.")
        var file: String

        func run() throws {
            let certificate = try Certificate(importing: try readFile(file))
            print("fingerprint    \(certificate.fingerprint)")
            print("primary        \(certificate.primary.keyID) rsa\(certificate.primary.bits)")
            print("encryption key \(certificate.encryptionKey.keyID) rsa\(certificate.encryptionKey.bits)")
            for userID in certificate.userIDs { print("user ID        \(userID)") }
        }
    }

    struct Encrypt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Encrypt a file (or standard input) to one or more public keys.")

        @Option(name: .customLong("recipient"), help: "A public key file; repeat for several recipients.")
        var recipients: [String]

        @Option(help: "Compression: zlib, zip or none.")
        var compression: String = "zlib"

        @Flag(help: "Write ASCII armor instead of binary.")
        var armor = false

        @Option(name: .customLong("in"), help: "Input file (default: standard input).")
        var input: String?

        @Option(name: .customLong("out"), help: "Output file (default: standard output).")
        var output: String?

        func run() throws {
            guard !recipients.isEmpty else { throw ValidationError("give at least one --recipient") }
            guard let algorithm = CompressionAlgorithm(name: compression) else {
                throw ValidationError("--compression must be zlib, zip or none, not \(compression)")
            }
            let certificates = try recipients.map { try Certificate(importing: try readFile($0)) }
            let sink = try OutputFile(path: output)
            let encryptor = try MessageEncryptor(recipients: certificates, compression: algorithm, armored: armor) { try sink.write($0) }
            let source = try input.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0)) } ?? FileHandle.standardInput
            while let chunk = try source.read(upToCount: 256 * 1024), !chunk.isEmpty {
                try encryptor.update(chunk)
            }
            try encryptor.finish()
            try sink.close()
        }
    }

    struct Decrypt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt a message (armored or binary) with a secret key.")

        @Option(name: .customLong("secret-key"), help: "An armored or binary secret key.")
        var secretKey: String

        @OptionGroup var passphrase: PassphraseOptions

        @Option(name: .customLong("in"), help: "Input file (default: standard input).")
        var input: String?

        @Option(name: .customLong("out"), help: "Output file (default: standard output).")
        var output: String?

        func run() throws {
            let key = try SecretKey(importing: try readFile(secretKey), passphrase: try passphrase.passphrase())
            let message: [UInt8]
            if let input {
                message = try readFile(input, limit: DecryptionLimits.default.maxMessageBytes)
            } else {
                message = Array(try FileHandle.standardInput.readToEnd() ?? Data())
            }
            let opened = try MessageDecryptor.decrypt(message, with: [key])
            let sink = try OutputFile(path: output)
            try sink.write(opened.data)
            try sink.close()
        }
    }
}

// MARK: - files

func readFile(_ path: String, limit: Int = 4 << 20) throws -> [UInt8] {
    let url = URL(fileURLWithPath: path)
    let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    guard size <= limit else { throw ValidationError("\(path) is \(size) bytes; the limit is \(limit)") }
    return Array(try Data(contentsOf: url))
}

func writeFile(_ path: String, _ bytes: [UInt8], mode: Int) throws {
    // Create with the final mode so a secret is never readable by others, even briefly.
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode_t(mode))
    guard descriptor >= 0 else { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
    let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    try handle.write(contentsOf: bytes)
    try handle.synchronize()
    try handle.close()
}

/// Standard output, or a file that is written beside its destination and renamed into place when
/// complete, so a failed run never leaves half a file.
final class OutputFile {
    private let handle: FileHandle
    private let finalPath: String?
    private let temporaryPath: String?

    init(path: String?) throws {
        guard let path else {
            handle = FileHandle.standardOutput
            finalPath = nil
            temporaryPath = nil
            return
        }
        let temporary = path + ".partial-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        finalPath = path
        temporaryPath = temporary
    }

    func write(_ bytes: [UInt8]) throws { try handle.write(contentsOf: bytes) }

    func close() throws {
        guard let finalPath, let temporaryPath else { return }
        try handle.synchronize()
        try handle.close()
        guard rename(temporaryPath, finalPath) == 0 else {
            throw ValidationError("cannot move the output into \(finalPath): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        if let temporaryPath, FileManager.default.fileExists(atPath: temporaryPath) { unlink(temporaryPath) }
    }
}
