import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how to submit mail. `security` is never downgraded: with `.startTLS` a server that
/// does not offer STARTTLS, or whose certificate does not verify, gets no message and no password.
public struct SMTPConfiguration: Sendable, Equatable {
    public enum Security: String, Sendable, Equatable {
        /// RFC 3207: plain connection, then STARTTLS before anything else (submission, port 587).
        case startTLS
        /// No TLS at all: refused unless the host is a loopback address (a local relay).
        case none
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// PEM file of the CA(s) to trust instead of the system's (a private relay, tests).
    public var trustedCAFile: String?
    public var timeout: TimeAmount

    public init(
        host: String, port: Int = 587, security: Security = .startTLS, username: String? = nil, password: String? = nil,
        trustedCAFile: String? = nil, timeout: TimeAmount = .seconds(20)
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.trustedCAFile = trustedCAFile
        self.timeout = timeout
    }

    /// `smtp://user:password@host:587` (STARTTLS required) or `smtp+plain://127.0.0.1:25` (loopback
    /// relay only). User and password are percent-decoded.
    public init(url: String, trustedCAFile: String? = nil) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else {
            throw SMTPError.invalidConfiguration("SMTP_URL must look like smtp://user:password@host:587")
        }
        switch scheme {
        case "smtp": security = .startTLS
        case "smtp+plain": security = .none
        default: throw SMTPError.invalidConfiguration("SMTP_URL scheme must be smtp (STARTTLS) or smtp+plain (loopback only), not \(scheme)")
        }
        self.host = host
        port = components.port ?? (security == .startTLS ? 587 : 25)
        username = components.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        self.trustedCAFile = trustedCAFile
        timeout = .seconds(20)
        if security == .none, !Self.isLoopback(host) {
            throw SMTPError.invalidConfiguration("smtp+plain is allowed only to a loopback relay; use smtp:// (STARTTLS) for \(host)")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

public enum SMTPError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case invalidAddress(String)
    case connectionFailed(String)
    case startTLSUnavailable
    case tlsFailed(String)
    /// The server answered `code` where the client expected another; `text` is the server's words.
    case unexpectedReply(command: String, code: Int, text: String)
    case malformedReply
    case timedOut(String)
    /// RFC 3207 §5: bytes arrived after the server's 220 to STARTTLS and before TLS began; they
    /// could be an attacker's, pipelined to be read as answers once the connection looks safe.
    case plaintextAfterStartTLS

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): reason
        case .invalidAddress(let address): "not a mail address that can be sent to: \(address)"
        case .connectionFailed(let reason): "cannot reach the mail server: \(reason)"
        case .startTLSUnavailable: "the mail server does not offer STARTTLS; no mail was sent"
        case .tlsFailed(let reason): "TLS with the mail server failed: \(reason)"
        case .unexpectedReply(let command, let code, let text): "the mail server refused \(command): \(code) \(text)"
        case .malformedReply: "the mail server's reply is not SMTP"
        case .timedOut(let step): "the mail server did not answer in time (\(step))"
        case .plaintextAfterStartTLS:
            "the mail server sent data after agreeing to STARTTLS and before TLS began (RFC 3207 §5); the connection was dropped, nothing was sent"
        }
    }
}

/// One message per connection: connect, EHLO, STARTTLS, EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT.
/// A mail a minute does not need pooling, and a fresh connection cannot carry a stale state.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    let group: any EventLoopGroup

    public init(configuration: SMTPConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    /// Sends `message` (headers and body, CRLF line ends) from `sender` to `recipient`.
    public func send(from sender: String, to recipient: String, message: String) async throws {
        try Self.checkAddress(sender)
        try Self.checkAddress(recipient)
        if configuration.security == .none, !SMTPConfiguration.isLoopback(configuration.host) {
            throw SMTPError.invalidConfiguration("refusing to send mail without TLS to \(configuration.host)")
        }
        let replies = ReplyReader()
        let handler = ReplyHandler(reader: replies)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(configuration.timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
                }
                .connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw SMTPError.connectionFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        let session = Session(channel: channel, replies: replies, handler: handler, timeout: configuration.timeout)
        do {
            try await run(session, sender: sender, recipient: recipient, message: message)
            try? await channel.close()
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private func run(_ session: Session, sender: String, recipient: String, message: String) async throws {
        _ = try await session.expect(220, after: "connect")
        var extensions = try await session.command("EHLO \(Self.heloName)", expect: 250, name: "EHLO")
        if configuration.security == .startTLS {
            guard extensions.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else { throw SMTPError.startTLSUnavailable }
            _ = try await session.command("STARTTLS", expect: 220, name: "STARTTLS")
            try await session.startTLS(context: makeTLSContext(), serverHostname: configuration.host)
            extensions = try await session.command("EHLO \(Self.heloName)", expect: 250, name: "EHLO after STARTTLS")
        }
        if let username = configuration.username {
            // RFC 4954 AUTH PLAIN: authzid NUL authcid NUL password, base64.
            let credentials = Data(([UInt8(0)] + Array(username.utf8) + [0] + Array((configuration.password ?? "").utf8))).base64EncodedString()
            guard extensions.contains(where: { $0.uppercased().hasPrefix("AUTH") && $0.uppercased().contains("PLAIN") }) else {
                throw SMTPError.unexpectedReply(command: "AUTH", code: 0, text: "the server offers no AUTH PLAIN")
            }
            _ = try await session.command("AUTH PLAIN \(credentials)", expect: 235, name: "AUTH")
        }
        _ = try await session.command("MAIL FROM:<\(sender)>", expect: 250, name: "MAIL FROM")
        _ = try await session.command("RCPT TO:<\(recipient)>", expect: [250, 251], name: "RCPT TO")
        _ = try await session.command("DATA", expect: 354, name: "DATA")
        _ = try await session.command(Self.dotStuffed(message) + ".", expect: 250, name: "the message")
        _ = try? await session.command("QUIT", expect: 221, name: "QUIT")
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let file = configuration.trustedCAFile {
            tls.trustRoots = .file(file)
        }
        do { return try NIOSSLContext(configuration: tls) } catch {
            throw SMTPError.tlsFailed("cannot set up TLS: \(error)")
        }
    }

    static var heloName: String {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty || name.contains(where: { $0 == " " || $0 == "\r" || $0 == "\n" }) ? "localhost" : name
    }

    /// RFC 5321 §4.5.2: a line starting with "." gets another; the message ends in CRLF.
    static func dotStuffed(_ message: String) -> String {
        var lines = message.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n"
    }

    /// An address goes into the envelope verbatim, so it may hold no space, angle bracket or line break.
    public static func checkAddress(_ address: String) throws {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, address.utf8.count <= 254,
            !address.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0.asciiValue.map { $0 < 32 || $0 == 127 } == true })
        else {
            throw SMTPError.invalidAddress(address)
        }
    }
}

/// One SMTP reply: a three-digit code and its text lines (RFC 5321 §4.2).
struct SMTPReply: Sendable {
    let code: Int
    let lines: [String]
}

/// The connection as the client sees it: send a line, wait for the next reply.
struct Session: Sendable {
    let channel: any Channel
    let replies: ReplyReader
    let handler: ReplyHandler
    let timeout: TimeAmount

    func expect(_ codes: Set<Int>, after step: String) async throws -> [String] {
        let reply = try await replies.next(timeout: timeout, step: step)
        guard codes.contains(reply.code) else {
            throw SMTPError.unexpectedReply(command: step, code: reply.code, text: reply.lines.joined(separator: " ").prefix(200).description)
        }
        return reply.lines
    }

    func expect(_ code: Int, after step: String) async throws -> [String] {
        try await expect([code], after: step)
    }

    /// `name` is what an error calls the command: never the command itself, which may hold credentials.
    func command(_ line: String, expect codes: Set<Int>, name: String) async throws -> [String] {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n"))
        } catch {
            // A failed TLS handshake closes the channel under the write: report the cause.
            throw replies.failure ?? SMTPError.connectionFailed("\(error)")
        }
        return try await expect(codes, after: name)
    }

    func command(_ line: String, expect code: Int, name: String) async throws -> [String] {
        try await command(line, expect: [code], name: name)
    }

    func startTLS(context: NIOSSLContext, serverHostname: String) async throws {
        let hostname = serverHostname.first?.isNumber == true || serverHostname.contains(":") ? nil : serverHostname
        let (replies, handler) = (self.replies, self.handler)
        do {
            // On the event loop, so that no read slips in between the check and the TLS handler:
            // anything already received past the 220 is refused (RFC 3207 §5); anything later
            // reaches the TLS handler and is read as TLS or nothing.
            try await channel.eventLoop.submit {
                guard !replies.hasPending, !handler.hasBufferedBytes else { throw SMTPError.plaintextAfterStartTLS }
                let tls = try NIOSSLClientHandler(context: context, serverHostname: hostname)
                try channel.pipeline.syncOperations.addHandler(tls, position: .first)
            }.get()
        } catch let error as SMTPError {
            throw error
        } catch {
            throw SMTPError.tlsFailed("\(error)")
        }
    }
}

/// Hands replies from the channel to the one waiting command. Replies are small; a server that
/// sends more than 64 KiB without finishing one is cut off.
final class ReplyReader: Sendable {
    private let state = NIOLockedValueBox(State())

    struct State {
        var pending: [SMTPReply] = []
        var failure: SMTPError?
        var waiter: CheckedContinuation<SMTPReply, any Error>?
    }

    var failure: SMTPError? { state.withLockedValue { $0.failure } }
    /// Replies received that no command has taken yet.
    var hasPending: Bool { state.withLockedValue { !$0.pending.isEmpty } }

    func deliver(_ reply: SMTPReply) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<SMTPReply, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending.append(reply)
            return nil
        }
        waiter?.resume(returning: reply)
    }

    func fail(_ error: SMTPError) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<SMTPReply, any Error>? in
            if state.failure == nil { state.failure = error }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    func next(timeout: TimeAmount, step: String) async throws -> SMTPReply {
        try await withThrowingTaskGroup(of: SMTPReply.self) { group in
            group.addTask { try await self.nextReply() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(timeout.nanoseconds))
                self.fail(.timedOut(step))
                throw SMTPError.timedOut(step)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private func nextReply() async throws -> SMTPReply {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<SMTPReply, SMTPError>? = state.withLockedValue { state in
                if !state.pending.isEmpty { return .success(state.pending.removeFirst()) }
                if let failure = state.failure { return .failure(failure) }
                state.waiter = continuation
                return nil
            }
            switch ready {
            case .success(let reply): continuation.resume(returning: reply)
            case .failure(let error): continuation.resume(throwing: error)
            case nil: break
            }
        }
    }
}

/// Splits the byte stream into CRLF lines and lines into replies ("250-" continues, "250 " ends).
final class ReplyHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    static let maximumReplyBytes = 65_536

    let reader: ReplyReader
    private let partial = NIOLockedValueBox((bytes: [UInt8](), lines: [String]()))

    init(reader: ReplyReader) {
        self.reader = reader
    }

    /// Bytes received that do not yet make a whole reply.
    var hasBufferedBytes: Bool { partial.withLockedValue { !$0.bytes.isEmpty || !$0.lines.isEmpty } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let incoming = buffer.readBytes(length: buffer.readableBytes) ?? []
        var replies: [SMTPReply] = []
        var malformed = false
        partial.withLockedValue { partial in
            partial.bytes += incoming
            while let end = partial.bytes.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(partial.bytes[..<end])
                partial.bytes.removeSubrange(...end)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                guard line.count >= 3, let code = Int(String(decoding: line[0..<3], as: UTF8.self)), (200...599).contains(code) else {
                    malformed = true
                    return
                }
                let text = line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : ""
                partial.lines.append(text)
                if line.count == 3 || line[3] == UInt8(ascii: " ") {
                    replies.append(SMTPReply(code: code, lines: partial.lines))
                    partial.lines = []
                } else if line[3] != UInt8(ascii: "-") {
                    malformed = true
                    return
                }
            }
            if partial.bytes.count + partial.lines.map(\.utf8.count).reduce(0, +) > Self.maximumReplyBytes { malformed = true }
        }
        for reply in replies { reader.deliver(reply) }
        if malformed {
            reader.fail(.malformedReply)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reader.fail(error is NIOSSLError || error is BoringSSLError ? .tlsFailed("\(error)") : .connectionFailed("\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        reader.fail(.connectionFailed("the server closed the connection"))
        context.fireChannelInactive()
    }
}
