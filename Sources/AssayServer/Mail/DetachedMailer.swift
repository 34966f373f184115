import Foundation
import Logging

/// Sends without making the request wait (ASVS 2.2, 7.2.1): a sign-in that mails a code or a lock
/// notice answers as fast as one for an unknown address, which mails nothing, so the time of the
/// answer tells nothing about which addresses have accounts. A failure is logged with the mail's
/// purpose, never its content.
struct DetachedMailer: Mailer {
    let inner: any Mailer
    let logger: Logger

    func send(_ message: MailMessage) async throws {
        let (inner, logger) = (inner, logger)
        Task.detached {
            do {
                try await inner.send(message)
            } catch {
                logger.error("mail not sent", metadata: ["purpose": .string(message.purpose), "error": .string(String(describing: type(of: error)))])
            }
        }
    }
}
