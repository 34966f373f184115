@testable import AssayServer

/// Collects mail in memory, beside the outbox tests that use the real files.
actor MemoryMailer: Mailer {
    private(set) var sent: [MailMessage] = []
    func send(_ message: MailMessage) async throws { sent.append(message) }
    var last: MailMessage? { sent.last }
}
