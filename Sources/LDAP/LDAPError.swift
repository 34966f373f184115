/// Why an LDAP operation failed, in words an administrator can act on. Values from the directory
/// are quoted cut short: a hostile server cannot flood a terminal or a log through an error.
public enum LDAPError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The URL is not `ldap://host[:port]` or `ldaps://host[:port]`.
    case invalidURL(String)
    /// The filter is not RFC 4515 syntax; `offset` is where reading stopped.
    case invalidFilter(offset: Int, reason: String)
    case connectionFailed(String)
    case tlsFailed(String)
    /// The server sent something that is not the LDAP message asked for (RFC 4511 §4.1.1).
    case protocolViolation(String)
    /// One message was larger than the client accepts.
    case messageTooLarge(limit: Int)
    /// The server answered with a result code other than success (RFC 4511 §4.1.9).
    case result(code: Int, name: String, message: String)
    case timedOut(String)
    /// The connection closed before the answer was complete.
    case connectionClosed
    /// Bytes arrived after the StartTLS answer and before TLS began (RFC 4513 §3.1.1): possibly a
    /// man in the middle's forged answers, pipelined to be read once the connection looks safe.
    case plaintextAfterStartTLS
    /// A paged search did not end: too many pages, a cookie that came back, or past its deadline
    /// or byte budget (a broken or hostile directory).
    case searchDidNotEnd(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "\"\(url.prefix(120))\" is not an LDAP URL (ldap://host[:port] or ldaps://host[:port])"
        case .invalidFilter(let offset, let reason): "the filter is not RFC 4515 syntax at character \(offset + 1): \(reason)"
        case .connectionFailed(let why): "cannot connect to the directory: \(why)"
        case .tlsFailed(let why): "TLS with the directory failed: \(why)"
        case .protocolViolation(let why): "the directory's answer is not valid LDAP: \(why)"
        case .messageTooLarge(let limit): "the directory sent a message larger than \(limit) bytes"
        case .result(let code, let name, let message):
            "the directory answered \(name) (\(code))" + (message.isEmpty ? "" : ": \(message.prefix(200))")
        case .timedOut(let what): "the directory did not answer in time (\(what))"
        case .connectionClosed: "the directory closed the connection"
        case .plaintextAfterStartTLS:
            "the directory sent data after agreeing to StartTLS and before TLS began (RFC 4513 §3.1.1); the connection was dropped, nothing was sent"
        case .searchDidNotEnd(let why): "the directory's paged search did not end: \(why)"
        }
    }
}

/// RFC 4511 §4.1.9 result codes the client names; others are shown by number.
enum ResultCode {
    static let success = 0
    static let sizeLimitExceeded = 4
    static let referral = 10
    static let invalidCredentials = 49

    static func name(_ code: Int) -> String {
        switch code {
        case 0: "success"
        case 1: "operationsError"
        case 2: "protocolError"
        case 3: "timeLimitExceeded"
        case 4: "sizeLimitExceeded"
        case 7: "authMethodNotSupported"
        case 8: "strongerAuthRequired"
        case 10: "referral"
        case 11: "adminLimitExceeded"
        case 12: "unavailableCriticalExtension"
        case 13: "confidentialityRequired"
        case 32: "noSuchObject"
        case 34: "invalidDNSyntax"
        case 48: "inappropriateAuthentication"
        case 49: "invalidCredentials"
        case 50: "insufficientAccessRights"
        case 51: "busy"
        case 52: "unavailable"
        case 53: "unwillingToPerform"
        default: "result \(code)"
        }
    }
}
