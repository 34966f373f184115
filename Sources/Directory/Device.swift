import Foundation

/// A device the console may contact (CON-1): only devices on the list are ever scanned. Every field
/// is checked when the list is read, so that a host, a user or a label is data and never syntax
/// for a shell, an SSH option or an LDAP filter.
public struct Device: Sendable, Hashable, Codable {
    public let host: String
    public let port: Int
    /// The SSH user; nil means the console's default (or ssh_config's).
    public let user: String?
    public let labels: [String]

    public init(host: String, port: Int = 22, user: String? = nil, labels: [String] = []) {
        self.host = host
        self.port = port
        self.user = user
        self.labels = labels
    }

    /// Why a field is refused, in words for the person who wrote the file.
    public enum FieldProblem: Error, Equatable, CustomStringConvertible, Sendable {
        case host(String)
        case port(String)
        case user(String)
        case label(String)

        public var description: String {
            switch self {
            case .host(let value): "host \"\(value.prefix(80))\" is not a host name (letters, digits, dots, dashes) or an IP address"
            case .port(let value): "port \"\(value.prefix(20))\" is not a number from 1 to 65535"
            case .user(let value): "user \"\(value.prefix(40))\" is not a user name (lower-case letters, digits, _ and -, starting with a letter or _)"
            case .label(let value): "label \"\(value.prefix(40))\" may hold only letters, digits, '.', '_' and '-' (1 to 64)"
            }
        }
    }

    /// RFC 1123 host names (labels of 1 to 63 letters, digits and dashes, not starting or ending
    /// with a dash, 253 characters at most), IPv4 dotted quads and IPv6 literals.
    public static func isHost(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        if isIPv4(text) { return true }
        if text.contains(":") { return isIPv6(text) }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                (1...3).contains(part.count) && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) && Int(part).map { $0 <= 255 } == true
            }
    }

    static func isIPv6(_ text: String) -> Bool {
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        let compressions = text.components(separatedBy: "::").count - 1
        guard (3...8).contains(groups.count), compressions <= 1, !text.hasPrefix(":") || text.hasPrefix("::"), !text.hasSuffix(":") || text.hasSuffix("::")
        else {
            return false
        }
        guard compressions == 1 || groups.count == 8 else { return false }
        return groups.allSatisfy { group in group.count <= 4 && group.allSatisfy(\.isHexDigit) }
    }

    /// POSIX-style user names as SSH servers accept them.
    public static func isUser(_ text: String) -> Bool {
        guard (1...32).contains(text.count), let first = text.first, first == "_" || (first.isASCII && first.isLowercase) else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    public static func isLabel(_ text: String) -> Bool {
        (1...64).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }
}
