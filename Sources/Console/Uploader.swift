import Foundation

/// Sends the spool to the service (CON-6): one file at a time in the order fetched, each removed
/// only after a 202 or 200; 429 and 503 wait as the service asks, network failures back off
/// exponentially (with jitter, capped); a 401 renews the token once. A crash anywhere leaves the
/// file in the spool, and sending it again is harmless: the service knows it by its SHA-256.
public struct Uploader: Sendable {
    public let spool: Spool
    public let signIns: SignInStore
    public let client: ServiceClient
    /// How long one `assay upload` keeps trying before it leaves the rest for the next run.
    public var patience: Duration = .seconds(600)
    public var maxBackoff: Duration = .seconds(120)

    public init(spool: Spool, signIns: SignInStore, client: ServiceClient) {
        self.spool = spool
        self.signIns = signIns
        self.client = client
    }

    public struct Report: Sendable, Codable {
        public var uploaded: [String] = []
        public var rejected: [String] = []
        public var remaining: Int = 0
        public var lastProblem: String?
    }

    public func run(progress: (@Sendable (String) -> Void)? = nil) async throws -> Report {
        var report = Report()
        let deadline = ContinuousClock.now + patience
        spool.pruneRejected()
        var items = try spool.pending()
        var signIn = try await signIns.validUploadToken(client: client)
        var attempt = 0
        var renewedAfter401 = false
        while let item = items.first {
            let outcome: ServiceClient.UploadAnswer
            guard let body = try? Data(contentsOf: item.file) else {
                // Another console process sent it meanwhile (and removed it): nothing to do.
                items.removeFirst()
                continue
            }
            do {
                outcome = try await client.upload(body, sha256: item.metadata.sha256, token: signIn.uploadToken)
            } catch let error as ConsoleError {
                outcome = .retryLater(seconds: 0, reason: error.description)
            }
            switch outcome {
            case .acknowledged(let state):
                try spool.acknowledge(item, uploadID: state.id)
                report.uploaded.append(item.metadata.sha256)
                progress?("uploaded \(item.metadata.kind) of \(item.metadata.device) (\(item.metadata.bytes) bytes) as \(state.id)")
                items.removeFirst()
                attempt = 0
                renewedAfter401 = false
                if items.isEmpty { items = try spool.pending().filter { !report.uploaded.contains($0.metadata.sha256) } }
            case .refused(let status, let reason):
                try spool.reject(item, reason: "HTTP \(status): \(reason)")
                report.rejected.append(item.metadata.sha256)
                progress?("the service refused \(item.metadata.kind) of \(item.metadata.device) (\(status): \(reason)); kept in \(spool.state.rejected.path)")
                items.removeFirst()
            case .unauthorized(let reason):
                guard !renewedAfter401 else { throw ConsoleError.notSignedIn("the service refuses this console's token (\(reason)): run `assay login`") }
                renewedAfter401 = true
                signIn = try await signIns.renew(client: client)
            case .retryLater(let seconds, let reason):
                attempt += 1
                report.lastProblem = reason
                let backoff = seconds > 0 ? Duration.seconds(seconds) : Self.backoff(attempt: attempt, cap: maxBackoff)
                guard ContinuousClock.now + backoff < deadline else {
                    report.remaining = items.count
                    progress?("giving up for now: \(reason); \(items.count) file(s) stay in the spool for the next `assay upload`")
                    return report
                }
                progress?("\(reason): trying again in \(backoff.components.seconds) s")
                try await Task.sleep(for: backoff)
                signIn = try await signIns.validUploadToken(client: client)
            }
        }
        report.remaining = 0
        return report
    }

    /// 1, 2, 4 … seconds up to `cap`, each with up to a quarter more at random.
    static func backoff(attempt: Int, cap: Duration) -> Duration {
        let base = min(Double(1 << min(attempt - 1, 16)), Double(cap.components.seconds))
        return .milliseconds(Int64((base + Double.random(in: 0...(base / 4))) * 1000))
    }
}
