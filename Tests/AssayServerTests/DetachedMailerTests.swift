import Foundation
import Logging
import Testing

@testable import AssayServer

/// ASVS 2.2 / 7.2.1 (issue 12, 7): sign-in mail leaves off the request path.
@Suite("Sign-in mail off the request path")
struct DetachedMailerTests {
    actor SlowMailer: Mailer {
        private(set) var sent: [MailMessage] = []
        let fails: Bool
        init(fails: Bool = false) { self.fails = fails }
        func send(_ message: MailMessage) async throws {
            try await Task.sleep(nanoseconds: 800_000_000)
            if fails { throw TestFailure("the relay is down") }
            sent.append(message)
        }
    }

    @Test("the caller does not wait for a slow relay, and the mail still arrives")
    func doesNotWait() async throws {
        let slow = SlowMailer()
        let mailer = DetachedMailer(inner: slow, logger: Logger(label: "test"))
        let started = Date()
        try await mailer.send(MailMessage(to: "jane.doe@acme.example", subject: "code", body: "Your code: 1234567", purpose: "sign-in code"))
        #expect(Date().timeIntervalSince(started) < 0.4, "the request waited for the relay")
        for _ in 0..<40 where await slow.sent.isEmpty { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(await slow.sent.count == 1)
    }

    @Test("a relay that fails does not fail the request")
    func failureIsLoggedOnly() async throws {
        let mailer = DetachedMailer(inner: SlowMailer(fails: true), logger: Logger(label: "test"))
        try await mailer.send(MailMessage(to: "jane.doe@acme.example", subject: "code", body: "x", purpose: "sign-in code"))
    }
}
