import Foundation

/// A message to one person. `body` may carry a secret (an invitation link, a code): a Mailer
/// sends it and never logs it.
public struct MailMessage: Sendable, Equatable {
    public var to: String
    public var subject: String
    public var body: String
    /// What kind of mail this is, for logs ("invitation", "sign-in code"): never the content.
    public var purpose: String

    public init(to: String, subject: String, body: String, purpose: String) {
        self.to = to
        self.subject = subject
        self.body = body
        self.purpose = purpose
    }
}

public protocol Mailer: Sendable {
    func send(_ message: MailMessage) async throws
}

/// The embedded default: each message becomes an .eml file in the outbox directory (mode 0600),
/// and the log says only that a mail was queued, for what purpose.
public struct OutboxMailer: Mailer {
    public let directory: String
    public let sender: String

    public init(directory: String, sender: String = "Assay <no-reply@assay.localhost>") {
        self.directory = directory
        self.sender = sender
    }

    public func send(_ message: MailMessage) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let date = ISO8601DateFormatter().string(from: Date())
        let name = "\(date.replacingOccurrences(of: ":", with: "-"))-\(UUID().uuidString.prefix(8)).eml"
        let headerSafe = { (text: String) in text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        let eml = """
        From: \(sender)\r
        To: \(headerSafe(message.to))\r
        Subject: \(headerSafe(message.subject))\r
        Date: \(date)\r
        MIME-Version: 1.0\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        \(message.body.replacingOccurrences(of: "\n", with: "\r\n"))\r

        """
        let path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: path, contents: Data(eml.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw MailError.cannotWrite(path)
        }
    }

    enum MailError: Error, CustomStringConvertible {
        case cannotWrite(String)
        var description: String {
            switch self { case .cannotWrite(let path): "cannot write the mail to \(path)" }
        }
    }
}
