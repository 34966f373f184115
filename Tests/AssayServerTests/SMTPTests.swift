import Fluent
import Foundation
import SMTP
import Testing

@testable import AssayServer

/// A real SMTP server for one test: aiosmtpd (Integration/smtp/smtp_server.py) with STARTTLS required and
/// AUTH only over TLS, its certificate signed by a throw-away CA made with openssl.
final class RealSMTPServer: @unchecked Sendable {
    static let user = "assay"
    static let password = "smtp-Secret-\(UUID().uuidString.prefix(8))"

    let port: Int
    let directory: URL
    let maildir: URL
    let caFile: String
    private let process: Process
    private let input: Pipe

    var url: String { "smtp://\(Self.user):\(Self.password)@127.0.0.1:\(port)" }

    init(offerSTARTTLS: Bool = true) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-smtp-\(UUID().uuidString)")
        maildir = directory.appendingPathComponent("maildir")
        try FileManager.default.createDirectory(at: maildir, withIntermediateDirectories: true)
        caFile = directory.appendingPathComponent("ca.pem").path
        try Self.makeCertificates(in: directory)
        port = try freePort()
        process = Process()
        input = Pipe()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", repositoryRoot.appendingPathComponent("Integration/smtp/smtp_server.py").path,
                "--port", "\(port)", "--maildir", maildir.path,
                "--cert", directory.appendingPathComponent("server.pem").path,
                "--key", directory.appendingPathComponent("server.key").path,
                "--user", Self.user,
            ] + (offerSTARTTLS ? [] : ["--no-starttls"])
        var environment = ProcessInfo.processInfo.environment
        environment["SMTP_TEST_PASSWORD"] = Self.password
        process.environment = environment
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice  // aiosmtpd prints the refused handshakes' tracebacks
        try process.run()
        let line = output.fileHandleForReading.readLine()
        guard line?.hasPrefix("ready") == true else {
            process.terminate()
            throw TestFailure("the SMTP test server did not start (is aiosmtpd installed? scripts/install-deps.sh installs it)")
        }
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Messages received so far, oldest first, with their envelopes.
    func received() throws -> [(message: String, envelope: String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: maildir.path).filter { $0.hasSuffix(".eml") }
            .sorted { Int($0.dropLast(4))! < Int($1.dropLast(4))! }
        return try names.map { name in
            let message = try String(contentsOf: maildir.appendingPathComponent(name), encoding: .utf8)
            let envelope = try String(contentsOf: maildir.appendingPathComponent(String(name.dropLast(4)) + ".envelope"), encoding: .utf8)
            return (message, envelope)
        }
    }

    static func makeCertificates(in directory: URL) throws {
        let dir = directory.path
        try run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Assay Test CA",
                "-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.pem",
            ])
        try run(
            "/usr/bin/openssl",
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                "-keyout", "\(dir)/server.key", "-out", "\(dir)/server.csr",
            ])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: "\(dir)/ext.cnf", atomically: true, encoding: .utf8)
        try run(
            "/usr/bin/openssl",
            [
                "x509", "-req", "-in", "\(dir)/server.csr", "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", "\(dir)/ext.cnf", "-out", "\(dir)/server.pem",
            ])
    }
}

@Suite("Mail through a real SMTP server (aiosmtpd, STARTTLS, AUTH)", .serialized)
struct SMTPTests {
    @Test("bytes pipelined with the 220 to STARTTLS are refused before TLS begins (RFC 3207 §5): no AUTH is sent")
    func startTLSInjection() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-smtp-injector-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("received.log")
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("Integration/smtp/injecting_server.py").path, "--log", log.path]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        let ready = try #require(output.fileHandleForReading.readLine())
        let port = try #require(Int(ready.split(separator: " ").last ?? ""))
        let client = SMTPClient(configuration: try SMTPConfiguration(url: "smtp://assay:not-sent@127.0.0.1:\(port)"))
        await #expect(throws: SMTPError.plaintextAfterStartTLS) {
            try await client.send(from: "no-reply@assay.localhost", to: "jane.doe@acme.example", message: "Subject: x\r\n\r\nbody\r\n")
        }
        let received = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(received.contains("STARTTLS"))
        #expect(!received.contains("AUTH"), "the client sent AUTH after the injection")
    }

    @Test("a message goes over STARTTLS with AUTH PLAIN; dots, non-ASCII subject and body arrive intact")
    func delivers() async throws {
        let server = try RealSMTPServer()
        defer { server.stop() }
        let mailer = SMTPMailer(configuration: try SMTPConfiguration(url: server.url, trustedCAFile: server.caFile), sender: "no-reply@assay.example")
        let body = "Hello Zoë,\n.a line that starts with a dot\n..and two\nYour code: 1234567\n"
        try await mailer.send(MailMessage(to: "jane.doe@acme.example", subject: "Ihr Code für Assay", body: body, purpose: "test"))
        let received = try server.received()
        try #require(received.count == 1)
        #expect(received[0].envelope.contains("from no-reply@assay.example"))
        #expect(received[0].envelope.contains("to jane.doe@acme.example"))
        #expect(received[0].envelope.contains("tls True"))
        #expect(received[0].envelope.contains("auth True"))
        let message = received[0].message
        #expect(message.contains("Subject: =?UTF-8?B?"))
        #expect(message.contains("Content-Transfer-Encoding: base64"))
        let encoded = try #require(message.components(separatedBy: "\r\n\r\n").last)
        let decoded = try #require(Data(base64Encoded: encoded.replacingOccurrences(of: "\r\n", with: "")))
        #expect(String(decoding: decoded, as: UTF8.self) == body)
    }

    @Test("a server without STARTTLS gets no message and no password")
    func refusesWithoutSTARTTLS() async throws {
        let server = try RealSMTPServer(offerSTARTTLS: false)
        defer { server.stop() }
        let client = SMTPClient(configuration: try SMTPConfiguration(url: server.url, trustedCAFile: server.caFile))
        await #expect(throws: SMTPError.startTLSUnavailable) {
            try await client.send(from: "no-reply@assay.example", to: "jane.doe@acme.example", message: "Subject: x\r\n\r\nbody\r\n")
        }
        #expect(try server.received().isEmpty)
    }

    @Test("a certificate from an untrusted CA is refused; a wrong password is refused without being echoed")
    func refusesBadCertificateAndPassword() async throws {
        let server = try RealSMTPServer()
        defer { server.stop() }
        let untrusted = SMTPClient(configuration: try SMTPConfiguration(url: server.url))
        do {
            try await untrusted.send(from: "no-reply@assay.example", to: "jane.doe@acme.example", message: "Subject: x\r\n\r\nbody\r\n")
            Issue.record("a certificate from an unknown CA was accepted")
        } catch let error as SMTPError {
            guard case .tlsFailed = error else {
                Issue.record("expected a TLS failure, got \(error)")
                return
            }
        }
        let wrong = SMTPClient(configuration: try SMTPConfiguration(url: "smtp://assay:Wr0ng-Passw0rd@127.0.0.1:\(server.port)", trustedCAFile: server.caFile))
        do {
            try await wrong.send(from: "no-reply@assay.example", to: "jane.doe@acme.example", message: "Subject: x\r\n\r\nbody\r\n")
            Issue.record("a wrong password was accepted")
        } catch let error as SMTPError {
            guard case .unexpectedReply(let command, let code, _) = error else {
                Issue.record("expected a refusal, got \(error)")
                return
            }
            #expect(command == "AUTH" && code == 535)
            #expect(!"\(error)".contains("Wr0ng-Passw0rd"))
        }
        #expect(try server.received().isEmpty)
    }

    @Test("addresses with line breaks or brackets never reach the envelope; smtp+plain only to loopback")
    func refusesHostileAddressesAndPlainRemote() throws {
        #expect(throws: SMTPError.invalidAddress("a@b.example>\r\nRCPT TO:<c@d.example")) {
            try SMTPClient.checkAddress("a@b.example>\r\nRCPT TO:<c@d.example")
        }
        #expect(throws: SMTPError.self) { try SMTPClient.checkAddress("no-at-sign") }
        #expect(throws: SMTPError.self) { try SMTPConfiguration(url: "smtp+plain://mail.example.com:25") }
        #expect(throws: SMTPError.self) { try SMTPConfiguration(url: "http://mail.example.com") }
        let local = try SMTPConfiguration(url: "smtp+plain://127.0.0.1:2525")
        #expect(local.security == .none && local.port == 2525)
        let submission = try SMTPConfiguration(url: "smtp://us%40er:p%3Ass@mail.example.com")
        #expect(submission.username == "us@er" && submission.password == "p:ss" && submission.port == 587 && submission.security == .startTLS)
    }

    @Test("the sign-in code from a new system arrives through the real SMTP server and signs in", arguments: CatalogBackend.testable)
    func signInCodeByMail(backend: CatalogBackend) async throws {
        let server = try RealSMTPServer()
        defer { server.stop() }
        try await withTestApp(backend) { app, configuration in
            let mailer = SMTPMailer(configuration: try SMTPConfiguration(url: server.url, trustedCAFile: server.caFile), sender: "no-reply@assay.example")
            let tenants = TenantService(catalog: Catalog(app.db), configuration: configuration, mailer: mailer, emailPolicy: try EmailPolicy.bundled())
            _ = try await tenants.create(name: "Acme", region: "eu-west", adminEmail: "jane.doe@acme.example")
            // The invitation link arrives by mail too: take the token from it.
            let invitation = try #require(try server.received().last?.message)
            let link = try #require(invitation.split(whereSeparator: \.isNewline).first { $0.contains("/register#") })
            let token = String(link.split(separator: "#").last!).trimmingCharacters(in: .whitespaces)
            let service = AccountService(
                catalog: Catalog(app.db), mailer: mailer, hasher: PasswordHasher(iterations: 1000), limiter: HashingLimiter(limit: 2),
                emailPolicy: try EmailPolicy.bundled(), now: Date.init)
            _ = try await service.register(invitationToken: token, name: "Jane Doe", phone: "+44 20 7946 0958", password: "Tr0ub4dor & 3 horses")
            let browser = ClientFingerprint(ipAddress: "192.0.2.10", browser: "Chrome 131", resolution: "1920x1080")
            guard case .codeSent(let attempt) = try await service.signIn(email: "jane.doe@acme.example", password: "Tr0ub4dor & 3 horses", fingerprint: browser)
            else {
                Issue.record("a new system should get a code")
                return
            }
            let mail = try #require(try server.received().last)
            #expect(mail.envelope.contains("to jane.doe@acme.example") && mail.envelope.contains("tls True"))
            let code = try #require(mail.message.split(whereSeparator: \.isNewline).first { $0.hasPrefix("Your code: ") }?.dropFirst(11))
            guard case .signedIn = try await service.verifyCode(attemptToken: attempt, code: String(code), fingerprint: browser) else {
                Issue.record("the mailed code did not sign in")
                return
            }
        }
    }
}
