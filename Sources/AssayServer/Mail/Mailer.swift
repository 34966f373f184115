import Foundation
import SMTP

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

extension MailMessage {
    /// RFC 5322 text with CRLF line ends: header values cannot break out of their line, a non-ASCII
    /// subject is RFC 2047 encoded, a non-ASCII body travels as base64.
    func rendered(from sender: String, date: Date = Date(), messageID: String = UUID().uuidString) -> String {
        let headerSafe = { (text: String) in text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        let subjectLine = subject.allSatisfy(\.isASCII) ? headerSafe(subject) : "=?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?="
        let domain = sender.split(separator: "@").last.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "> ")) } ?? "assay.localhost"
        let normalized = body.replacingOccurrences(of: "\r\n", with: "\n")
        let encoding: String
        let encodedBody: String
        if normalized.allSatisfy(\.isASCII) {
            encoding = "7bit"
            encodedBody = normalized.replacingOccurrences(of: "\n", with: "\r\n")
        } else {
            encoding = "base64"
            encodedBody = Data(normalized.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        }
        return [
            "From: \(headerSafe(sender))",
            "To: \(headerSafe(to))",
            "Subject: \(subjectLine)",
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: <\(messageID)@\(domain)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: \(encoding)",
            "",
            encodedBody,
        ].joined(separator: "\r\n") + "\r\n"
    }

    static func rfc5322Date(_ date: Date) -> String {
        date.formatted(
            Date.VerbatimFormatStyle(
                format:
                    "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .defaultDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) +0000",
                locale: Locale(identifier: "en_US_POSIX"), timeZone: .gmt, calendar: Calendar(identifier: .gregorian)))
    }
}

/// The embedded default: each message becomes an .eml file in the outbox directory (mode 0600),
/// and the log says only that a mail was queued, for what purpose.
public struct OutboxMailer: Mailer {
    public let directory: String
    public let sender: String

    public init(directory: String, sender: String = "no-reply@assay.localhost") {
        self.directory = directory
        self.sender = sender
    }

    public func send(_ message: MailMessage) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let date = ISO8601DateFormatter().string(from: Date())
        let name = "\(date.replacingOccurrences(of: ":", with: "-"))-\(UUID().uuidString.prefix(8)).eml"
        let path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: path, contents: Data(message.rendered(from: sender).utf8), attributes: [.posixPermissions: 0o600]) else {
            throw MailError.cannotWrite(path)
        }
    }

    enum MailError: Error, CustomStringConvertible {
        case cannotWrite(String)
        var description: String {
            switch self {
            case .cannotWrite(let path): "cannot write the mail to \(path)"
            }
        }
    }
}

/// Production: submission to the configured relay over STARTTLS (never downgraded), with AUTH
/// PLAIN when the URL carries credentials. The log names the purpose, never the content.
public struct SMTPMailer: Mailer {
    public let client: SMTPClient
    public let sender: String

    public init(configuration: SMTPConfiguration, sender: String) {
        client = SMTPClient(configuration: configuration)
        self.sender = sender
    }

    public func send(_ message: MailMessage) async throws {
        try await client.send(from: sender, to: message.to, message: message.rendered(from: sender))
    }
}
