import Foundation
import Logging
import Testing
import Vapor
import VaporTesting

@testable import AssayServer

/// Every log line of the process, at trace level, kept in memory for inspection.
final class CapturedLogs: @unchecked Sendable {
    static let shared = CapturedLogs()
    private let lock = NSLock()
    private var lines: [String] = []

    /// LoggingSystem can be bootstrapped once per process: do it the first time a test asks.
    static let installed: Bool = {
        LoggingSystem.bootstrap { label in CapturingHandler(label: label) }
        return true
    }()

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var text: String { lock.withLock { lines.joined(separator: "\n") } }
}

struct CapturingHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let all = self.metadata.merging(explicit ?? [:]) { $1 }
        CapturedLogs.shared.append("\(level) \(label) \(message) \(all)")
    }
}

@Suite("Logs hold no secrets (SEC-3)")
struct LogSecrecyTests {
    @Test("the whole sign-in flow at trace level logs no password, invitation token, code or session token")
    func noSecretsInLogs() async throws {
        #expect(CapturedLogs.installed)
        let flow = SessionHTTPTests()
        try await withTestApp { app, configuration in
            app.logger.logLevel = .trace
            let session = try await flow.signedIn(app, configuration)
            try await app.testing().test(.GET, "api/v1/me", headers: flow.headers(configuration, cookie: session), afterResponse: { _ in })
            let outbox = configuration.dataDirectory + "/outbox"
            let mails = try FileManager.default.contentsOfDirectory(atPath: outbox).map { try String(contentsOfFile: outbox + "/" + $0, encoding: .utf8) }
            let invitationToken = try #require(
                mails.joined().split(whereSeparator: \.isNewline).first { $0.contains("/register#") }?.split(separator: "#").last)
            let code = try flow.latestCode(configuration)
            let sessionToken = String(session.split(separator: "=", maxSplits: 1)[1])
            let logs = CapturedLogs.shared.text
            #expect(!logs.isEmpty)
            for secret in ["Tr0ub4dor & 3 horses", String(invitationToken), code, sessionToken] {
                #expect(!logs.contains(secret), "a secret appears in the logs")
            }
        }
    }
}

@Suite("Structured logs")
struct JSONLogTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [String] = []
        func add(_ line: String) { lock.withLock { stored.append(line) } }
        var all: [String] { lock.withLock { stored } }
    }

    @Test("production logs are one JSON object per line with level, logger, message and metadata")
    func jsonLines() throws {
        let lines = Lines()
        var logger = Logger(label: "assay.test") { label in JSONLogHandler(label: label, write: { lines.add($0) }) }
        logger[metadataKey: "request-id"] = "r-1"
        logger.info("tenant created", metadata: ["region": "eu-west", "count": .stringConvertible(3)])
        logger.debug("not at info level")
        #expect(lines.all.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines.all[0].utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["logger"] as? String == "assay.test")
        #expect(object["message"] as? String == "tenant created")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["region"] as? String == "eu-west" && metadata["request-id"] as? String == "r-1" && metadata["count"] as? String == "3")
        #expect(object["time"] is String)
    }
}
