import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how to reach a directory.
public struct LDAPServer: Sendable, Equatable {
    public enum Security: Sendable, Equatable {
        /// `ldaps://`: TLS from the first byte.
        case ldaps
        /// `ldap://` followed by StartTLS (RFC 4511 §4.14) before anything else is sent.
        case startTLS
        /// `ldap://` in clear: only for a directory on this machine's loopback.
        case plain
    }

    public let host: String
    public let port: Int
    public let security: Security

    public init(host: String, port: Int, security: Security) {
        self.host = host
        self.port = port
        self.security = security
    }

    /// `ldaps://host[:636]` or `ldap://host[:389]` (then StartTLS unless `allowPlain` and the host
    /// is loopback). Paths, queries and user info are refused: the base DN and filter are options.
    public init(url: String, allowPlainOnLoopback: Bool = false) throws(LDAPError) {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host, !host.isEmpty,
            parsed.user == nil, parsed.password == nil, parsed.query == nil, parsed.path.isEmpty || parsed.path == "/"
        else { throw .invalidURL(url) }
        switch scheme {
        case "ldaps": self.init(host: host, port: parsed.port ?? 636, security: .ldaps)
        case "ldap":
            let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
            self.init(host: host, port: parsed.port ?? 389, security: allowPlainOnLoopback && loopback ? .plain : .startTLS)
        default: throw .invalidURL(url)
        }
        guard (1...65535).contains(port) else { throw .invalidURL(url) }
        // A certificate is checked against the name asked for: a DC is reached by its DNS name.
        if security != .plain, LDAPClient.sniName(host) == nil {
            throw .invalidURL("\(url) (use the directory's DNS name, which its certificate names, not an IP address)")
        }
    }
}

/// TLS for the directory: TLS 1.2 at least, the certificate verified against the system's roots
/// or a CA file (an Active Directory's enterprise CA), and its name checked.
public struct LDAPTLS: Sendable {
    public var caFile: String?

    public init(caFile: String? = nil) { self.caFile = caFile }

    func context() throws(LDAPError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caFile { configuration.trustRoots = .file(caFile) }
        do { return try NIOSSLContext(configuration: configuration) } catch { throw .tlsFailed("\(error)") }
    }
}

/// An LDAP v3 client (RFC 4511): bind, paged search, unbind. One operation at a time; every
/// answer waits at most `timeout`; messages are bounded by `maxMessageBytes`.
public actor LDAPClient {
    public static let defaultMaxMessageBytes = 4 << 20

    private let channel: any Channel
    private var messages: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
    private var nextID = 1
    private let timeout: Duration
    private let gate: StartTLSGate
    /// Bytes of every message received, for a search's byte budget.
    private var bytesReceived = 0

    private init(channel: any Channel, messages: AsyncThrowingStream<[UInt8], any Error>, timeout: Duration, gate: StartTLSGate) {
        self.channel = channel
        self.messages = messages.makeAsyncIterator()
        self.timeout = timeout
        self.gate = gate
    }

    /// Connects, and for `.startTLS` upgrades the connection before returning.
    public static func connect(
        to server: LDAPServer, tls: LDAPTLS = LDAPTLS(), timeout: Duration = .seconds(30), maxMessageBytes: Int = defaultMaxMessageBytes,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(LDAPError) -> LDAPClient {
        let sslContext = server.security == .plain ? nil : try tls.context()
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let host = server.host
        let immediateTLS = server.security == .ldaps
        let gate = StartTLSGate()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(Int64(timeout.components.seconds)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if immediateTLS, let sslContext {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: sniName(host)))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LDAPMessageDecoder(maxMessageBytes: maxMessageBytes, gate: gate)))
                        try channel.pipeline.syncOperations.addHandler(LDAPMessageForwarder(continuation: continuation))
                    }
                }
                .connect(host: host, port: server.port).get()
        } catch {
            throw .connectionFailed("\(host):\(server.port): \(error)")
        }
        let client = LDAPClient(channel: channel, messages: stream, timeout: timeout, gate: gate)
        if server.security == .startTLS, let sslContext { try await client.startTLS(sslContext, host: host) }
        return client
    }

    /// NIOSSL sends no SNI for an IP address; the certificate must then name the address.
    static func sniName(_ host: String) -> String? {
        host.allSatisfy { $0.isNumber || $0 == "." } || host.contains(":") ? nil : host
    }

    private func allocateID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    private func send(_ bytes: [UInt8]) async throws(LDAPError) {
        do { try await channel.writeAndFlush(ByteBuffer(bytes: bytes)) } catch {
            // A closed channel usually closed for a reason (a failed TLS handshake): say that one.
            var iterator = messages
            do { _ = try await iterator.next(isolation: #isolation) } catch { throw Self.describe(error) }
            throw .connectionFailed("\(error)")
        }
    }

    static func describe(_ error: any Error) -> LDAPError {
        switch error {
        case let error as LDAPError: error
        case let error as NIOSSLError: .tlsFailed("\(error)")
        case let error as BoringSSLError: .tlsFailed("\(error)")
        default: .connectionFailed("\(error)")
        }
    }

    /// The next message for `id`; unsolicited notices end the connection with their reason.
    private func receive(for id: Int, what: String) async throws(LDAPError) -> LDAPProtocol.Response {
        while true {
            // A silent directory is cut off: the connection closes when the answer is overdue.
            let started = ContinuousClock.now
            let deadline = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000)) { [channel] in
                channel.close(promise: nil)
            }
            defer { deadline.cancel() }
            var iterator = messages
            let bytes: [UInt8]?
            do {
                bytes = try await iterator.next(isolation: #isolation)
            } catch {
                throw Self.describe(error)
            }
            messages = iterator
            if let bytes { bytesReceived += bytes.count }
            guard let bytes else {
                throw ContinuousClock.now - started >= timeout ? .timedOut(what) : .connectionClosed
            }
            let (messageID, response) = try LDAPProtocol.decode(bytes)
            if case .notice(let result) = response {
                throw .result(code: result.code, name: ResultCode.name(result.code), message: result.message)
            }
            guard messageID == id else { throw .protocolViolation("an answer to message \(messageID) while waiting for \(id)") }
            return response
        }
    }

    private func startTLS(_ context: NIOSSLContext, host: String) async throws(LDAPError) {
        let id = allocateID()
        gate.arm()
        try await send(try encoding { try LDAPProtocol.startTLS(id: id) })
        guard case .extended(let result) = try await receive(for: id, what: "StartTLS") else {
            throw .protocolViolation("StartTLS was not answered with an extended response")
        }
        guard result.code == ResultCode.success else {
            throw .tlsFailed("the directory refused StartTLS: \(ResultCode.name(result.code)) \(result.message.prefix(200))")
        }
        // The gate sealed the stream at the answer: a byte received since is a violation, and TLS
        // goes in on the event loop before any later byte can be read in clear.
        let serverName = Self.sniName(host)
        do {
            try await channel.eventLoop.submit { [channel, gate] in
                guard !gate.wasViolated else { throw LDAPError.plaintextAfterStartTLS }
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
                gate.open()
            }.get()
        } catch let error as LDAPError {
            channel.close(promise: nil)
            throw error
        } catch {
            throw .tlsFailed("\(error)")
        }
    }

    private func encoding(_ body: () throws -> [UInt8]) throws(LDAPError) -> [UInt8] {
        do { return try body() } catch { throw .protocolViolation("cannot encode a request: \(error)") }
    }

    /// Simple bind (RFC 4511 §4.2, RFC 4513 §5.1.3). Only ever sent over TLS, or to loopback.
    public func bind(dn: String, password: String) async throws(LDAPError) {
        let id = allocateID()
        try await send(try encoding { try LDAPProtocol.bind(id: id, dn: dn, password: password) })
        guard case .bind(let result) = try await receive(for: id, what: "bind") else {
            throw .protocolViolation("a bind was not answered with a bind response")
        }
        guard result.code == ResultCode.success else { throw .result(code: result.code, name: ResultCode.name(result.code), message: result.message) }
    }

    /// What one search may cost before it is abandoned: a directory that answers pages for ever
    /// (empty ones with a fresh cookie each time, or the same cookie again) is cut off with a reason.
    public struct SearchBudget: Sendable {
        public var maxEntries = 200_000
        public var maxPages = 2_000
        public var maxBytes = 512 << 20
        public var deadline: Duration = .seconds(900)

        public init() {}
    }

    /// A subtree search, page by page (RFC 2696), until the server's cookie is empty. References
    /// to other servers (§4.5.3) are ignored: the console reads one directory. `budget` bounds
    /// what a hostile or enormous directory can make the console hold, and for how long.
    public func search(
        base: String, filter: SearchFilter, attributes: [String], pageSize: Int = 500, budget: SearchBudget = SearchBudget()
    ) async throws(LDAPError) -> [LDAPEntry] {
        var entries: [LDAPEntry] = []
        var cookie: [UInt8] = []
        var cookies = Set<[UInt8]>()
        var pages = 0
        let bytesBefore = bytesReceived
        let started = ContinuousClock.now
        let maxEntries = budget.maxEntries
        let timeLimit = Int(timeout.components.seconds)
        repeat {
            pages += 1
            guard pages <= budget.maxPages else { throw .searchDidNotEnd("more than \(budget.maxPages) pages") }
            guard ContinuousClock.now - started < budget.deadline else {
                throw .searchDidNotEnd("still paging after \(budget.deadline.components.seconds) s (\(entries.count) entries)")
            }
            let id = allocateID()
            try await send(
                try encoding {
                    try LDAPProtocol.search(
                        id: id, base: base, scope: .subtree, filter: filter, attributes: attributes, pageSize: pageSize, cookie: cookie,
                        timeLimitSeconds: timeLimit)
                })
            pageLoop: while true {
                switch try await receive(for: id, what: "search") {
                case .entry(let entry):
                    entries.append(entry)
                    guard entries.count <= maxEntries else { throw .protocolViolation("more than \(maxEntries) entries") }
                    guard bytesReceived - bytesBefore <= budget.maxBytes else { throw .searchDidNotEnd("more than \(budget.maxBytes >> 20) MiB") }
                    guard ContinuousClock.now - started < budget.deadline else {
                        throw .searchDidNotEnd("still reading after \(budget.deadline.components.seconds) s (\(entries.count) entries)")
                    }
                case .reference: continue
                case .searchDone(let result, let next):
                    guard result.code == ResultCode.success else {
                        throw .result(code: result.code, name: ResultCode.name(result.code), message: result.message)
                    }
                    cookie = next ?? []
                    // RFC 2696 §3: a cookie is the server's place in the result set; the same one
                    // twice means it is not moving on.
                    guard cookie.isEmpty || cookies.insert(cookie).inserted else { throw .searchDidNotEnd("the directory sent the same page cookie twice") }
                    guard bytesReceived - bytesBefore <= budget.maxBytes else { throw .searchDidNotEnd("more than \(budget.maxBytes >> 20) MiB") }
                    break pageLoop
                default: throw .protocolViolation("a search was answered with another operation")
                }
            }
        } while !cookie.isEmpty
        return entries
    }

    /// Unbind (§4.3) and close.
    public func close() async {
        let id = allocateID()
        if let bytes = try? LDAPProtocol.unbind(id: id) { try? await send(bytes) }
        try? await channel.close()
    }
}
