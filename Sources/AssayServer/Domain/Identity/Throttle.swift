import Foundation

/// Anti-automation (ASVS 2.2.1): attempts counted per client address and per account in fixed
/// windows, in the catalog, so that a limit holds however many replicas share the load. Past a
/// limit the attempt is refused before any password is hashed; the first refusal of a window is a
/// security event in the audit log. Subjects are stored only as SHA-256 (no address or e-mail).
public struct Throttle: Sendable {
    let catalog: Catalog
    let policy: Policy
    let now: @Sendable () -> Date

    public struct Limit: Sendable, Equatable {
        let name: String
        let attempts: Int
        let window: TimeInterval
    }

    /// How many attempts each kind of request gets per window.
    public struct Policy: Sendable {
        var signInPerAddress = Limit(name: "signin-address", attempts: 60, window: 600)
        var signInPerAccount = Limit(name: "signin-account", attempts: 20, window: 600)
        var codePerAddress = Limit(name: "code-address", attempts: 30, window: 600)
        var registrationPerAddress = Limit(name: "register-address", attempts: 20, window: 600)
        var recheckPerAccount = Limit(name: "recheck-account", attempts: 10, window: 600)

        public static let standard = Policy()
        /// For tests of other rules that send many attempts on purpose.
        public static let unlimited = Policy(
            signInPerAddress: .init(name: "signin-address", attempts: .max - 1, window: 600),
            signInPerAccount: .init(name: "signin-account", attempts: .max - 1, window: 600),
            codePerAddress: .init(name: "code-address", attempts: .max - 1, window: 600),
            registrationPerAddress: .init(name: "register-address", attempts: .max - 1, window: 600),
            recheckPerAccount: .init(name: "recheck-account", attempts: .max - 1, window: 600))
    }

    /// Too many attempts: try again after `retryAfter` seconds.
    public struct Refused: Error, Equatable, CustomStringConvertible {
        public let retryAfter: Int
        public var description: String { "too many attempts: try again in \(retryAfter) seconds" }
    }

    /// Counts one attempt against each limit for its subject; throws `Refused` past any of them.
    func admit(_ checks: [(Limit, String)], actor: String, tenantID: TenantID? = nil) async throws {
        let time = now()
        var refusal: Refused?
        for (limit, subject) in checks where limit.attempts < .max - 1 {
            let window = (time.timeIntervalSince1970 / limit.window).rounded(.down)
            let ends = Date(timeIntervalSince1970: (window + 1) * limit.window)
            let count = try await catalog.throttles.hit("\(limit.name):\(Int(window)):\(SecretToken.hash(subject.lowercased()))", expiresAt: ends)
            guard count > limit.attempts else { continue }
            if count == limit.attempts + 1 {
                try await catalog.audit.append(
                    tenantID: tenantID, actor: actor, action: "security.throttled", subject: limit.name,
                    detail: "more than \(limit.attempts) attempts in \(Int(limit.window)) seconds", at: time)
            }
            let wait = Refused(retryAfter: max(1, Int(ends.timeIntervalSince(time).rounded(.up))))
            refusal = max(refusal?.retryAfter ?? 0, wait.retryAfter) == wait.retryAfter ? wait : refusal
        }
        if Int.random(in: 0..<64) == 0 { try await catalog.throttles.purge(before: time) }
        if let refusal { throw refusal }
    }
}
